/*
 * The agent's packet source: live capture (capture.c) or READ_FILE (replay.c), opened with the
 * link type the relay carries, and the callbacks through which its packets reach the relay.
 * Loop thread only.
 */
#define PK_LOG_MODULE "agent"
#include "agent_int.h"
#include "capture.h"
#include "config.h"
#include "linktype.h"
#include "log.h"
#include "pcktr.h"
#include "relay.h"
#include "replay.h"

#include <errno.h>
#include <stdio.h>

static void
on_live_packet(void *data, const struct pk_packet *pkt)
{
    pk_relay_add(data, pkt);
}

static int
on_replay_packet(void *data, const struct pk_packet *pkt)
{
    struct agent *a = data;

    if ((a->batch_pending || pk_relay_would_overflow(a, pkt)) && pk_relay_flush(a) == -EAGAIN)
        return -EAGAIN;
    pk_relay_add(a, pkt);
    return 0;
}

static void
on_burst_end(void *data)
{
    struct agent *a = data;

    if (!a->batch_pending)
        pk_relay_flush(a);
}

static void
on_capture_error(void *data, const char *msg)
{
    struct agent *a = data;

    pk_error("%s", msg);
    a->exit_code = PK_EXIT_RUNTIME;
    pk_agent_finish(a, a->cfg->linger_ms);
}

static void
on_capture_link(void *data, int up, const char *msg)
{
    struct agent *a = data;

    if (up)
        pk_info_with(&(struct pk_log_fields){.event = "device_up"},
                     "DEVICE=\"%s\" is capturing again", a->cfg->device);
    else
        pk_warn_with(
            &(struct pk_log_fields){.event = "device_down"},
            "%s: DEVICE=\"%s\" went down; waiting for it to come back (packets it does not "
            "carry meanwhile are not captured)",
            msg, a->cfg->device);
}

static void
on_replay_end(void *data, const char *error)
{
    struct agent *a = data;

    a->replay_ended = 1;
    if (error != NULL) {
        snprintf(a->replay_error, sizeof(a->replay_error), "%s", error);
        pk_error("READ_FILE=\"%s\": %s", a->cfg->read_file, error);
    }
    if (!a->batch_pending)
        pk_agent_finish(a, a->cfg->relay_timeout_ms);
}

/*
 * The link type the relay carries: the registry's LINKTYPE_ value, as a capture file would
 * hold it (libpcap hands out DLT_ values, and DLT_RAW is 12 on Linux where files say 101).
 */
static uint32_t
relay_linktype(int dlt)
{
    int linktype = pk_linktype_from_dlt(dlt);

    if (linktype >= 0)
        return (uint32_t)linktype;
    pk_warn("libpcap link type DLT %d has no LINKTYPE_ value in the registry; relayed as %d, "
            "which readers may not understand",
            dlt, dlt);
    return (uint32_t)dlt;
}

int
pk_agent_open_source(struct agent *a, char *errbuf)
{
    const struct pk_config *cfg = a->cfg;
    const char *filter;
    int rc;

    if ((rc = pk_agent_user_filter(a, &filter, errbuf)) != 0)
        return rc;
    if (cfg->read_file != NULL) {
        struct pk_replay_sink sink = {on_replay_packet, on_burst_end, on_replay_end, a};
        rc = pk_replay_open(&a->replay, &a->loop, cfg->read_file, cfg->filter, &sink, errbuf);
        if (rc != 0)
            return rc;
        a->hello.linktype = relay_linktype(pk_replay_dlt(a->replay));
        a->hello.snaplen = pk_replay_snaplen(a->replay);
        a->hello.tsresol = 9;
        a->filter = cfg->filter;
        return 0;
    }
    struct pk_capture_opts opts = {
        .device = cfg->device,
        .filter = filter,
        .exclude = a->exclude,
        .snaplen = (uint32_t)cfg->snaplen,
        .promisc = cfg->promisc,
        .buffer_size = cfg->buffer_size,
    };
    struct pk_packet_sink sink = {on_live_packet, on_burst_end, on_capture_error, on_capture_link,
                                  a};
    rc = pk_capture_open(&a->cap, &a->loop, &opts, &sink, errbuf);
    if (rc != 0)
        return rc;
    a->hello.linktype = relay_linktype(pk_capture_dlt(a->cap));
    a->hello.snaplen = (uint32_t)cfg->snaplen;
    a->hello.tsresol = (uint32_t)pk_capture_tsresol(a->cap);
    a->filter = pk_capture_filter(a->cap);
    return 0;
}
