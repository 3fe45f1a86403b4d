/*
 * The agent's delivery accounting: see delivery.h. The FIFO holds one entry per message the
 * transport took and has not yet reported on, in send order, so a report moves exactly that
 * message's packets from unconfirmed to relayed or delivery_failed.
 */
#define PK_LOG_MODULE "agent"
#include "delivery.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>

int
pk_delivery_init(struct agent *a)
{
    if (!a->cfg->transport->confirms_delivery)
        return 0;
    /* The transport holds at most RELAY_QUEUE messages awaiting a report; one more is slack. */
    a->dq_cap = a->cfg->relay_queue + 1;
    if ((a->dq = calloc(a->dq_cap, sizeof(*a->dq))) == NULL)
        return -ENOMEM;
    return 0;
}

void
pk_delivery_handed(struct agent *a, uint32_t packets)
{
    a->handed += packets;
    if (a->dq == NULL) {
        a->st.relayed += packets;
        return;
    }
    if (a->dq_len == a->dq_cap) {
        /* Not reached (the transport refuses beyond RELAY_QUEUE); were it, the message could
         * not be followed, and it is counted as at hand-off rather than lost from the books. */
        a->st.relayed += packets;
        return;
    }
    a->dq[(a->dq_head + a->dq_len++) % a->dq_cap] = packets;
    a->st.unconfirmed += packets;
}

/* One line when a run of failed deliveries starts; the count is in the counters. */
static void
note_failed(struct agent *a, uint32_t packets)
{
    if (a->failing)
        return;
    a->failing = 1;
    pk_warn_with(&(struct pk_log_fields){.event = "delivery_failed"},
                 "the transport gave up delivering a message (%u packets): counted as delivery "
                 "failed",
                 packets);
}

void
pk_delivery_on_delivered(struct pk_transport *t, int ok)
{
    struct agent *a = t->data;
    uint32_t packets;

    if (a->dq == NULL || a->dq_len == 0)
        return;
    packets = a->dq[a->dq_head];
    a->dq_head = (a->dq_head + 1) % a->dq_cap;
    a->dq_len--;
    a->st.unconfirmed -= packets;
    if (ok) {
        a->st.relayed += packets;
        a->failing = 0;
        return;
    }
    a->st.delivery_failed += packets;
    if (packets > 0)
        note_failed(a, packets);
}

void
pk_delivery_free(struct agent *a)
{
    free(a->dq);
    a->dq = NULL;
}
