/*
 * Collect mode: receives messages from any number of agents on the configured transport,
 * tracks every source (sources.c) and writes their packets as one classic pcap stream to
 * stdout (pcapout.c, output.c), with back-pressure to the agents when stdout is slow.
 */
#ifndef PK_COLLECTOR_H
#define PK_COLLECTOR_H

struct pk_config;
struct pk_curve_keys;

/** Runs the collector until stopped or its reader leaves; returns the process exit code. */
int pk_collector_run(const struct pk_config *cfg, struct pk_curve_keys *keys);

#endif
