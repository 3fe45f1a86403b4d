/*
 * Capture mode: packets from a live device (capture.c) or a file (replay.c) are batched into
 * packets messages (frame.c) and handed to the configured transport, with hello and stats
 * messages every HEARTBEAT_INTERVAL and a goodbye at the end.
 */
#ifndef PK_AGENT_H
#define PK_AGENT_H

struct pk_config;
struct pk_curve_keys;

/**
 * Runs the agent until it is stopped or done; returns the process exit code (0, 1 or 2).
 * keys: CURVE keys from pk_keys_load (keys->enabled 0: the relay is not encrypted).
 */
int pk_agent_run(const struct pk_config *cfg, const struct pk_curve_keys *keys);

#endif
