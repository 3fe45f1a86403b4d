/* What the source's messages say: hello metadata, packet-index and relayed-total bookkeeping,
 * the agent's counters. See sources.h. */
#include "sources.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* Names, hosts, devices and filters go into logs, /status and pcapng: cleaned as in sources.c. */
static void
copy_clean(char *dst, size_t cap, const struct pk_str *s)
{
    pk_text_copy_clean(dst, cap, s->ptr, s->len);
}

int
pk_source_apply_hello(struct pk_source *s, const struct pk_hello *h)
{
    char host[sizeof(s->host)], device[sizeof(s->device)];
    size_t filter_cap =
        (h->filter.len < PK_SOURCE_FILTER_MAX ? h->filter.len : PK_SOURCE_FILTER_MAX) + 1;
    char *filter = malloc(filter_cap);
    int changed, redescribe;

    if (filter == NULL)
        return 0;
    copy_clean(host, sizeof(host), &h->host);
    copy_clean(device, sizeof(device), &h->device);
    copy_clean(filter, filter_cap, &h->filter);
    changed = !s->have_hello || s->linktype != h->linktype || strcmp(s->host, host) != 0 ||
              strcmp(s->device, device) != 0 || strcmp(s->filter, filter) != 0 ||
              s->sample_n != (h->sample_n ? h->sample_n : 1);
    /* A new filter or sampling (FILTER_FILE on SIGHUP): the output describes the source's
     * interfaces anew from its next packet, a bounded number of times. */
    redescribe = s->have_hello && (strcmp(s->filter, filter) != 0 ||
                                   s->sample_n != (h->sample_n ? h->sample_n : 1));
    if (redescribe && s->redescribed < PK_SOURCE_REDESCRIBE_MAX) {
        s->nifs = 0;
        s->redescribed++;
    } else if (redescribe) {
        s->redescribe_capped++;
    }
    free(s->filter);
    s->filter = filter;
    memcpy(s->host, host, sizeof(host));
    memcpy(s->device, device, sizeof(device));
    copy_clean(s->version, sizeof(s->version), &h->version);
    s->linktype = h->linktype;
    s->snaplen = h->snaplen;
    s->tsresol = h->tsresol;
    s->heartbeat_ms = h->heartbeat_ms;
    s->sample_n = h->sample_n ? h->sample_n : 1;
    s->start_ns = h->start_ns;
    /* Control: not a redescription (a pause changes no interface); a new filter in force
     * arrives as the hello's filter and is one (above). */
    s->takes_control = (h->control & PK_HELLO_TAKES_CONTROL) != 0;
    s->applied_gen = h->applied_gen;
    s->have_hello = 1;
    return changed;
}

uint64_t
pk_stats_index(const struct pk_stats *st)
{
    uint64_t sum = st->relayed + st->delivery_failed;

    if (sum < st->relayed || sum + st->unconfirmed < sum)
        return UINT64_MAX;
    return sum + st->unconfirmed;
}

/*
 * A gap of `gap` packets in the index: what the agent's delivery_failed total has not yet
 * explained of it, failed deliveries; then, from an agent that confirms, it waits for its
 * report (settle); otherwise it is lost. Returns the packets lost.
 */
static uint64_t
book_gap(struct pk_source *s, uint64_t gap)
{
    uint64_t credit = 0, failed;

    if (s->agent.delivery_failed > s->run_failed)
        credit = s->agent.delivery_failed - s->run_failed;
    failed = gap < credit ? gap : credit;
    s->delivery_failed += failed;
    s->run_failed += failed;
    gap -= failed;
    if (s->confirms) {
        s->awaiting_report += gap;
        return 0;
    }
    s->lost_packets += gap;
    return gap;
}

/* After a stats message: what waits is a failed delivery as far as delivery_failed grew, and
 * lost beyond what the agent still has unconfirmed. Returns the packets lost. */
static uint64_t
settle(struct pk_source *s, const struct pk_stats *st)
{
    uint64_t credit = 0, moved, lost = 0;

    if (s->agent.delivery_failed > s->run_failed)
        credit = s->agent.delivery_failed - s->run_failed;
    moved = s->awaiting_report < credit ? s->awaiting_report : credit;
    s->awaiting_report -= moved;
    s->delivery_failed += moved;
    s->run_failed += moved;
    if (s->awaiting_report > st->unconfirmed) {
        lost = s->awaiting_report - st->unconfirmed;
        s->awaiting_report = st->unconfirmed;
        s->lost_packets += lost;
    }
    return lost;
}

uint64_t
pk_source_apply_packets(struct pk_source *s, const struct pk_packets *p)
{
    uint64_t lost = 0;

    if (s->have_index && p->first_index > s->next_index)
        lost = book_gap(s, p->first_index - s->next_index);
    if (!s->have_index)
        s->index_base = p->first_index;
    if (!s->have_index || p->first_index + p->count > s->next_index)
        s->next_index = p->first_index + p->count;
    s->have_index = 1;
    return lost;
}

/*
 * The agent's counters only grow within a run (a new run resets them: move), and /metrics says
 * they are counters: a message with a lower one (a replay, or a peer at the agent's address)
 * moves none of them back; it is counted. queued is a gauge: the latest.
 */
static void
merge_agent_stats(struct pk_source *s, const struct pk_stats *st)
{
    struct pk_stats *a = &s->agent;
    int lower = st->captured < a->captured || st->kernel_drops < a->kernel_drops ||
                st->if_drops < a->if_drops || st->relay_drops < a->relay_drops ||
                st->relayed < a->relayed || st->rate_limited < a->rate_limited ||
                st->sampled_out < a->sampled_out || st->delivery_failed < a->delivery_failed ||
                st->paused < a->paused;

#define PK_KEEP_MAX(field) a->field = st->field > a->field ? st->field : a->field
    PK_KEEP_MAX(captured);
    PK_KEEP_MAX(kernel_drops);
    PK_KEEP_MAX(if_drops);
    PK_KEEP_MAX(relay_drops);
    PK_KEEP_MAX(relayed);
    PK_KEEP_MAX(rate_limited);
    PK_KEEP_MAX(sampled_out);
    PK_KEEP_MAX(delivery_failed);
    PK_KEEP_MAX(paused);
#undef PK_KEEP_MAX
    /* Generations are not counters: clearing desired state moves one down. The latest wins
     * (messages arrive in sequence order; older ones were dropped). */
    a->applied_gen = st->applied_gen;
    a->refused_gen = st->refused_gen;
    s->applied_gen = st->applied_gen;
    s->refused_gen = st->refused_gen;
    a->unconfirmed = st->unconfirmed;
    s->confirms |= st->delivery_failed != 0 || st->unconfirmed != 0;
    a->queued = st->queued;
    s->inconsistent_stats += lower;
}

/*
 * The agent moves a batch's packets into relayed, delivery_failed or unconfirmed when its
 * transport takes it, before it sends the stats that include it; messages arrive in sequence
 * order and older ones are dropped. So when a stats or goodbye arrives, every packet below its
 * index (pk_stats_index) has arrived or never will: the gap up to it is booked (book_gap).
 */
uint64_t
pk_source_apply_stats(struct pk_source *s, const struct pk_stats *st, int goodbye)
{
    uint64_t lost = 0, index = pk_stats_index(st);

    merge_agent_stats(s, st);
    if (goodbye)
        s->said_goodbye = 1;
    if (!s->have_index) {
        /* The first count this collector sees of a source it joined late: the base, and its
         * failed deliveries so far are not this collector's gaps. */
        s->index_base = s->next_index = index;
        s->run_failed = s->agent.delivery_failed;
        s->have_index = 1;
        return 0;
    }
    if (index > s->next_index) {
        lost = book_gap(s, index - s->next_index);
        s->next_index = index;
    }
    return lost + settle(s, st);
}
