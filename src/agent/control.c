/*
 * The control plane on the agent (docs/CONTROL.md, "On the agent"): control messages from the
 * collector, on the transport's return path, narrow what the agent captures and relays. Each
 * names a generation; one other than the generation in force is applied whole or refused whole
 * (its filter does not compile), and either way a hello and stats tell the collector at once.
 * What the message may not do is widen: its filter is ANDed with the agent's own and the
 * relay's exclusion, its sampling and rate limit only make the agent's stricter. The pure rules
 * are control_policy.c's. Loop thread only.
 */
#define PK_LOG_MODULE "agent"
#include "agent_int.h"
#include "capture.h"
#include "control_policy.h"
#include "log.h"
#include "pcktr.h"
#include "relay.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Any peer on the return path can send these: one line a minute at most. */
#define REJECT_LOG_INTERVAL_NS (60ull * 1000000000ull)

const char *
pk_agent_exclude(const struct agent *a)
{
    return a->ctl.filter[0] != '\0' ? a->ctl.exclude : a->exclude;
}

void
pk_agent_control_init(struct agent *a)
{
    /* A READ_FILE replay is a record of the past: there is nothing live to narrow. */
    a->ctl.enabled = a->cfg->control && a->cfg->read_file == NULL;
    a->hello.control = a->ctl.enabled ? PK_HELLO_TAKES_CONTROL : 0;
    if (a->ctl.enabled && pk_control_prefix(&a->src, a->ctl.prefix) != 0)
        a->ctl.enabled = 0; /* cannot happen: the source name was checked with the config */
}

/* The collector learns what is in force (and what was refused) now, not at the heartbeat. */
static void
acknowledge(struct agent *a)
{
    pk_relay_send_control(a, PK_KIND_HELLO);
    pk_relay_send_control(a, PK_KIND_STATS);
}

/* Counted always; one summary line a minute at most, since any peer on the path can send. */
static void
note_rejected(struct agent *a, int rc)
{
    uint64_t now = pk_now_ns();

    a->ctl.rejected++;
    if (a->ctl.reject_log_ns != 0 && now - a->ctl.reject_log_ns < REJECT_LOG_INTERVAL_NS)
        return;
    pk_warn_with(&(struct pk_log_fields){.event = "control_rejected"},
                 "control: ignored %llu message(s) on the return path since the last such line "
                 "(latest: %s); %llu in all",
                 (unsigned long long)(a->ctl.rejected - a->ctl.rejected_logged),
                 pk_control_reject_reason(rc), (unsigned long long)a->ctl.rejected);
    a->ctl.rejected_logged = a->ctl.rejected;
    a->ctl.reject_log_ns = now;
}

/*
 * The central filter c->filter in force, if it differs from the one in force: checked alone,
 * then combined as (own) and (central) and exclusion. 0, or -errno with errbuf and the
 * filter in force unchanged.
 */
static int
set_central_filter(struct agent *a, const struct pk_control *c, char *errbuf)
{
    static char filter[PK_CONTROL_FILTER_MAX + 1], exclude[CENTRAL_EXCLUDE_MAX]; /* loop only */
    int rc;

    if ((rc = pk_control_filter_check(pk_capture_pcap(a->cap), c->filter, filter, sizeof(filter),
                                      errbuf)) != 0)
        return rc;
    if (strcmp(filter, a->ctl.filter) == 0)
        return 0;
    if (pk_control_exclude(exclude, sizeof(exclude), filter, a->exclude) != 0)
        return pk_seterr(errbuf, -E2BIG, "with the relay's exclusion it is too long");
    if ((rc = pk_capture_set_filter(a->cap, pk_agent_own_filter(a), exclude, errbuf)) != 0)
        return rc;
    memcpy(a->ctl.filter, filter, sizeof(a->ctl.filter));
    memcpy(a->ctl.exclude, exclude, sizeof(a->ctl.exclude));
    a->filter = pk_capture_filter(a->cap);
    return 0;
}

static void
log_applied(struct agent *a)
{
    char rate[32] = "none";

    if (a->rate_limit != 0)
        snprintf(rate, sizeof(rate), "%llu bytes/s", (unsigned long long)a->rate_limit);
    pk_info_with(&(struct pk_log_fields){.event = "control_applied"},
                 "control: generation %llu applied: filter \"%s\" (in force: \"%s\"), paused=%s, "
                 "sample 1/%u, rate limit %s",
                 (unsigned long long)a->ctl.applied_gen, a->ctl.filter, a->filter,
                 a->ctl.paused ? "yes" : "no", (unsigned)a->hello.sample_n, rate);
}

/* All of generation c, or (its filter refused) none of it. */
static void
apply(struct agent *a, const struct pk_control *c)
{
    char errbuf[PK_ERRBUF_SIZE];

    /* What the open batch holds was captured under the settings in force: it goes as such. */
    pk_relay_flush(a);
    if (set_central_filter(a, c, errbuf) != 0) {
        if (a->ctl.refusal_logged != c->generation)
            pk_warn_with(&(struct pk_log_fields){.event = "control_refused"},
                         "control: generation %llu refused: filter \"%.*s\": %s; generation %llu "
                         "stays in force",
                         (unsigned long long)c->generation, (int)c->filter.len, c->filter.ptr,
                         errbuf, (unsigned long long)a->ctl.applied_gen);
        a->ctl.refusal_logged = c->generation;
        a->ctl.refused_gen = c->generation;
        acknowledge(a);
        return;
    }
    /* Nothing below can fail: the generation is now in force whole. */
    a->ctl.paused = (c->flags & PK_CONTROL_PAUSED) != 0;
    a->ctl.sample_n = c->sample_n;
    a->ctl.rate_limit = c->rate_limit;
    a->hello.sample_n = pk_control_sample_n(a->cfg->sample_n, c->sample_n);
    pk_relay_set_rate(a, pk_control_rate_limit(a->cfg->relay_rate_limit, c->rate_limit));
    a->ctl.applied_gen = a->hello.applied_gen = c->generation;
    log_applied(a);
    acknowledge(a);
}

void
pk_agent_on_control(struct pk_transport *t, const uint8_t *buf, size_t len)
{
    struct agent *a = t->data;
    struct pk_control c;
    int rc;

    if (!a->ctl.enabled || a->cap == NULL) {
        a->ctl.rejected++; /* CONTROL=off or READ_FILE: the transport should not even ask */
        return;
    }
    if (a->stopping)
        return; /* a hello after the goodbye would bring the source back at the collector */
    if ((rc = pk_control_check(buf, len, &a->src, &c)) != 0) {
        note_rejected(a, rc);
        return;
    }
    if (c.generation == a->ctl.applied_gen) {
        acknowledge(a); /* the collector may have missed the first one */
        return;
    }
    apply(a, &c);
}
