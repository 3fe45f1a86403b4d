/*
 * The agent's relay (relay.c): batching, compression, the rate limit, sequence numbers, control
 * messages, drop accounting,
 * and the transport's events. Works on the agent's state (agent_int.h). Loop thread only.
 */
#ifndef PK_RELAY_H
#define PK_RELAY_H

#include "agent_int.h"

#include <stdint.h>

struct pk_packet;

/** Allocates the batch buffer: BATCH_BYTES plus one largest record, so adding always fits.
 *  0, or -ENOMEM. */
int pk_relay_init(struct agent *a);

/** FILTER_FILE's settings on SIGHUP: another RELAY_COMPRESSION or RELAY_RATE_LIMIT from now
 *  on (next is the configuration to be; control's limit still narrows it). 0, or -ENOMEM and nothing changed. */
int pk_relay_retune(struct agent *a, const struct pk_config *next);

/** The rate limit in force (bytes/s, 0: none), RELAY_RATE_LIMIT narrowed by control; a new
 *  one starts a full bucket. */
void pk_relay_set_rate(struct agent *a, uint64_t rate);

/** Frees the batch buffers and the codec (after the loop ended). */
void pk_relay_free(struct agent *a);

/** Whether pkt's record would take the open batch past BATCH_BYTES: then it goes into the
 *  next batch (pk_relay_add flushes first; READ_FILE flushes before, to wait when refused). */
int pk_relay_would_overflow(const struct agent *a, const struct pk_packet *pkt);

/** Adds a captured packet to the open batch (opening one), flushing it once it is full. */
void pk_relay_add(struct agent *a, const struct pk_packet *pkt);

/** Hands the open batch to the transport. 0, or -EAGAIN only in READ_FILE mode (kept). */
int pk_relay_flush(struct agent *a);

/** Sends a hello, stats or goodbye with the next sequence number: 0, -EAGAIN or -errno. */
int pk_relay_send_control(struct agent *a, enum pk_frame_kind kind);

/** Transport and timer callbacks: room again; a collector came, refused or left; heartbeat. */
void pk_relay_on_writable(struct pk_transport *t);
void pk_relay_on_peer(struct pk_transport *t, enum pk_peer_event ev, const char *peer,
                      const char *why);
void pk_relay_on_heartbeat(uv_timer_t *h);

#endif
