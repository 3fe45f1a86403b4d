/*
 * The agent's delivery accounting (delivery.c): what counts as relayed. With a transport that
 * confirms delivery (ops->confirms_delivery), a message's packets wait in a bounded FIFO
 * (RELAY_QUEUE entries, the transport's own bound) as unconfirmed until its report says
 * delivered (relayed) or given up on (delivery_failed); with another, they are relayed when the
 * transport takes them. Either way captured = relayed + relay drops + delivery failed + queued +
 * unconfirmed. Loop thread only.
 */
#ifndef PK_DELIVERY_H
#define PK_DELIVERY_H

#include "agent_int.h"

#include <stdint.h>

/** Allocates the FIFO when the transport confirms delivery. 0, or -ENOMEM. */
int pk_delivery_init(struct agent *a);

/** The transport took a message holding `packets` packets (0: a control message). */
void pk_delivery_handed(struct agent *a, uint32_t packets);

/** The transport's on_delivered: the oldest message handed over was delivered (ok) or not. */
void pk_delivery_on_delivered(struct pk_transport *t, int ok);

void pk_delivery_free(struct agent *a);

#endif
