/*
 * Collect mode: receives messages from any number of agents (and plain capture streams) on the
 * configured transport (intake.c), tracks every source (src/sources) and writes their packets,
 * merged (merge.c), as one pcap or pcapng stream to OUTPUT (outstage.c, writer.c, output.c),
 * with back-pressure to the agents when its reader is slow.
 */
#ifndef PK_COLLECTOR_H
#define PK_COLLECTOR_H

struct pk_config;
struct pk_transport_config;

/** Runs the collector until stopped or its reader leaves; returns the process exit code.
 *  tc: the transport's config from pk_config_transport (NULL when it has none). */
int pk_collector_run(const struct pk_config *cfg, struct pk_transport_config *tc);

#endif
