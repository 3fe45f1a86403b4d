/*
 * Capture mode: packets from a live device (capture.c) or a file (replay.c) are batched into
 * packets messages (frame.c) and handed to the configured transport, with hello and stats
 * messages every HEARTBEAT_INTERVAL and a goodbye at the end.
 */
#ifndef PK_AGENT_H
#define PK_AGENT_H

struct pk_config;
struct pk_transport_config;

/**
 * Runs the agent until it is stopped or done; returns the process exit code (0, 1 or 2).
 * tc: the transport's config from pk_config_transport (NULL when it has none).
 */
int pk_agent_run(const struct pk_config *cfg, struct pk_transport_config *tc);

#endif
