/*
 * tcp-raw, the collector's side: listeners, accepting and closing connections, their limits
 * and deadlines (tcp_raw_recv.h), back-pressure with a round-robin resume, and the receiver's
 * own close (its two handles and every connection). Reading and framing are in
 * tcp_raw_recv.c. Each connection is on its own: a broken, silent or greedy one is closed and
 * counted, and no other notices.
 */
#include "access.h"
#include "pcktr.h"
#include "tcp_raw_recv.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void finish_close(struct tcp_receiver *tt);

static void
on_conn_closed(uv_handle_t *h)
{
    struct conn *c = container_of(h, struct conn, tcp);
    struct tcp_receiver *tt = c->tt;

    if (c->prev)
        c->prev->next = c->next;
    else
        tt->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (tt->resume_at == c)
        tt->resume_at = c->next;
    tt->nconns--;
    pk_tcp_raw_release(c);
    free(c);
    tt->handles_open--;
    finish_close(tt);
}

void
pk_tcp_raw_close_conn(struct conn *c, enum close_reason why)
{
    struct tcp_receiver *tt = c->tt;

    if (c->closing)
        return;
    c->closing = 1;
    tt->nlive--;
    pk_tcp_raw_unqueue(c);
    tt->closed[why]++;
    if (why == CLOSE_BAD_FRAMING)
        tt->raw.base.counters.peers_dropped++;
    tt->raw.base.counters.disconnects++;
    if (tt->raw.base.on_peer)
        tt->raw.base.on_peer(&tt->raw.base, PK_PEER_DOWN, c->peer, "");
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* ---- deadlines ---------------------------------------------------------------------- */

/* Returns why c must close now, or CLOSE_CLEAN to keep it; dt: ms since the last sweep. */
static enum close_reason
check_deadlines(struct conn *c, uint64_t dt)
{
    struct tcp_receiver *tt = c->tt;
    int reading = tt->receiving && !c->starved; /* the clocks stop while we make it wait */
    int progressed = c->progressed;

    c->progressed = 0;
    if (progressed)
        c->silent_ms = 0;
    else if (reading)
        c->silent_ms += dt;
    if (reading && !c->valid && (c->unproven_ms += dt) >= FIRST_MESSAGE_MS)
        return CLOSE_NO_HELLO;
    if (progressed || c->len == 0)
        c->quiet_ms = 0;
    else if (reading && (c->quiet_ms += dt) >= STALL_MS)
        return CLOSE_STALLED;
    /* others wait for what it holds, and it does not finish */
    if (tt->receiving && tt->nstarved > (size_t)c->starved && c->cap > CONN_FREE_BUFFER &&
        (c->held_ms += dt) >= HOLD_MS)
        return CLOSE_HELD;
    return CLOSE_CLEAN;
}

static void
on_sweep(uv_timer_t *h)
{
    struct tcp_receiver *tt = container_of(h, struct tcp_receiver, sweep_timer);
    uint64_t now = uv_now(tt->loop), dt = now - tt->last_sweep;
    enum close_reason why;

    /* Only the time intake was on counts: a slow reader's pauses are not a peer's silence. */
    if (!tt->receiving) {
        tt->paused_ms += now - tt->paused_since;
        tt->paused_since = now;
    }
    dt = dt > tt->paused_ms ? dt - tt->paused_ms : 0;
    tt->paused_ms = 0;
    tt->last_sweep = now;
    /* close_conn frees nothing before the loop's close phase: c->next stays valid */
    for (struct conn *c = tt->conns; c != NULL; c = c->next)
        if (!c->closing && (why = check_deadlines(c, dt)) != CLOSE_CLEAN)
            pk_tcp_raw_close_conn(c, why);
}

/* ---- accepting ---------------------------------------------------------------------- */


static size_t
conns_from(struct tcp_receiver *tt, const struct sockaddr_storage *addr)
{
    size_t n = 0;

    for (struct conn *c = tt->conns; c != NULL; c = c->next)
        n += !c->closing && pk_sockaddr_same_host(&c->addr, addr);
    return n;
}

/*
 * At a limit (of all connections, or of those from `from`), a connection that has not proven
 * itself (no valid first message yet) makes room for a new one, the one that waited longest
 * first: idle connections opened faster than FIRST_MESSAGE_MS expires cannot keep an agent
 * out. 1 when one was closed.
 */
static int
displace_unproven(struct tcp_receiver *tt, const struct sockaddr_storage *from)
{
    struct conn *oldest = NULL;

    for (struct conn *c = tt->conns; c != NULL; c = c->next) /* newest first */
        if (!c->closing && !c->valid && (from == NULL || pk_sockaddr_same_host(&c->addr, from)))
            oldest = c;
    if (oldest == NULL)
        return 0;
    pk_tcp_raw_close_conn(oldest, CLOSE_NO_HELLO);
    return 1;
}

/*
 * At a limit where every connection has proven itself, the one silent longest, if for SILENT_MS
 * or more, makes room: peers that sent a hello and then nothing cannot keep agents out. 1 when
 * one was closed.
 */
static int
displace_silent(struct tcp_receiver *tt, const struct sockaddr_storage *from)
{
    struct conn *quietest = NULL;

    for (struct conn *c = tt->conns; c != NULL; c = c->next)
        if (!c->closing && c->valid && c->silent_ms >= SILENT_MS &&
            (from == NULL || pk_sockaddr_same_host(&c->addr, from)) &&
            (quietest == NULL || c->silent_ms > quietest->silent_ms))
            quietest = c;
    if (quietest == NULL)
        return 0;
    pk_tcp_raw_close_conn(quietest, CLOSE_SILENT);
    return 1;
}

static int
make_room(struct tcp_receiver *tt, const struct sockaddr_storage *from)
{
    return displace_unproven(tt, from) || displace_silent(tt, from);
}

/* Why the connection just accepted may not stay; 0 when it may. */
static int
refuse_reason(struct tcp_receiver *tt, struct conn *c)
{
    if (tt->access != NULL &&
        !pk_cidr_match(tt->access->allow, tt->access->nallow, (struct sockaddr *)&c->addr)) {
        char ip[64] = "";
        uv_ip_name((struct sockaddr *)&c->addr, ip, sizeof(ip));
        pk_access_refuse(tt->access, PK_REFUSED_ADDRESS, ip, "");
        return -EACCES;
    }
    if (conns_from(tt, &c->addr) >= MAX_CONNS_PER_ADDR && !make_room(tt, &c->addr)) {
        tt->refused_per_addr++;
        return -EUSERS;
    }
    if (tt->nlive >= tt->max_conns && !make_room(tt, NULL)) {
        tt->refused_limit++;
        return -EMFILE;
    }
    return 0;
}

static void
on_connection(uv_stream_t *server, int status)
{
    struct tcp_receiver *tt = server->data;
    int sslen = sizeof(struct sockaddr_storage);
    struct conn *c;

    /* Each pending connection is taken off the backlog, even one refused: never a spin. */
    if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
        return;
    if (uv_tcp_init(tt->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->tt = tt;
    c->who.addr = c->peer;
    c->who.key = "";
    tt->handles_open++;
    tt->nconns++;
    c->next = tt->conns;
    if (tt->conns)
        tt->conns->prev = c;
    tt->conns = c;
    c->closing = 1; /* until it is admitted */
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->addr, &sslen) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    if (refuse_reason(tt, c) != 0) {
        /* a reset, never an orderly end: the agent must not take it for a confirmation */
        if (uv_tcp_close_reset(&c->tcp, on_conn_closed) != 0)
            uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    c->closing = 0;
    tt->nlive++;
    pk_sockaddr_str((struct sockaddr *)&c->addr, c->peer, sizeof(c->peer));
    tt->raw.base.counters.connects++;
    if (tt->raw.base.on_peer)
        tt->raw.base.on_peer(&tt->raw.base, PK_PEER_UP, c->peer, "");
    pk_tcp_raw_read_start(c);
}

/* ---- back-pressure -------------------------------------------------------------------- */

/*
 * Intake resumes round-robin, from where the last pause struck: each connection in turn has
 * what it buffered parsed and gets one read, in this order (not the kernel's), until the output
 * fills again, and the next resume starts with the connections this one did not reach. Only
 * after a whole round without a pause does reading go back to the loop.
 */
static void
on_resume_idle(uv_idle_t *h)
{
    struct tcp_receiver *tt = container_of(h, struct tcp_receiver, resume_idle);
    struct conn *c = tt->resume_at != NULL ? tt->resume_at : tt->conns;
    size_t n = tt->nconns;

    uv_idle_stop(h);
    pk_tcp_raw_wake_waiters(tt);
    tt->resume_at = NULL;
    for (; n > 0 && c != NULL && tt->receiving; n--) {
        struct conn *next = c->next != NULL ? c->next : tt->conns;
        pk_tcp_raw_parse(c);
        if (tt->receiving)
            pk_tcp_raw_read_now(c);
        c = next;
    }
    for (c = tt->conns; c != NULL && tt->receiving; c = c->next)
        pk_tcp_raw_read_start(c);
}

void
pk_tcp_raw_receiver_set_receiving(struct pk_transport *t, int on)
{
    struct tcp_receiver *tt = (struct tcp_receiver *)t;

    if (on && !tt->receiving)
        tt->paused_ms += uv_now(tt->loop) - tt->paused_since;
    else if (!on && tt->receiving)
        tt->paused_since = uv_now(tt->loop);
    tt->receiving = on;
    if (on) {
        uv_idle_start(&tt->resume_idle, on_resume_idle); /* not from inside the caller's stack */
        return;
    }
    uv_idle_stop(&tt->resume_idle);
    for (struct conn *c = tt->conns; c != NULL; c = c->next)
        if (!c->closing)
            uv_read_stop((uv_stream_t *)&c->tcp);
}

/* ---- listening ------------------------------------------------------------------------ */

/* The connection limit: below the open-file limit, with FD_RESERVE descriptors to spare. */
static size_t
connection_limit(void)
{
    struct rlimit rl;
    size_t fds;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return MAX_CONNECTIONS;
    fds = (size_t)rl.rlim_cur;
    if (fds <= 2 * FD_RESERVE)
        return fds / 2;
    return fds - FD_RESERVE < MAX_CONNECTIONS ? fds - FD_RESERVE : MAX_CONNECTIONS;
}

/* Closing: connections and listeners first, then the two handles; the last callback frees tt. */
static void
on_handle_closed(uv_handle_t *h)
{
    struct tcp_receiver *tt = h->data;

    tt->handles_open--;
    finish_close(tt);
}

static void
finish_close(struct tcp_receiver *tt)
{
    if (!tt->closing)
        return;
    if (!uv_is_closing((uv_handle_t *)&tt->sweep_timer)) {
        uv_close((uv_handle_t *)&tt->sweep_timer, on_handle_closed);
        uv_close((uv_handle_t *)&tt->resume_idle, on_handle_closed);
        return;
    }
    if (tt->handles_open > 0)
        return;
    if (tt->closed_cb != NULL) /* NULL: open failed, nobody waits */
        tt->closed_cb(tt->closed_data, 1); /* a receiver queues nothing */
    free(tt);
}

void
pk_tcp_raw_receiver_close(struct pk_transport *t, uint64_t linger_ms, pk_transport_closed_cb cb,
                          void *data)
{
    struct tcp_receiver *tt = (struct tcp_receiver *)t;

    (void)linger_ms; /* nothing to flush */
    tt->closing = 1;
    tt->closed_cb = cb;
    tt->closed_data = data;
    pk_listen_close(&tt->listen);
    uv_timer_stop(&tt->sweep_timer);
    uv_idle_stop(&tt->resume_idle);
    for (struct conn *c = tt->conns; c != NULL; c = c->next)
        pk_tcp_raw_close_conn(c, CLOSE_CLEAN);
    finish_close(tt);
}

int
pk_tcp_raw_receiver_connected(struct pk_transport *t)
{
    return ((struct tcp_receiver *)t)->nconns > 0;
}

int
pk_tcp_raw_receiver_open(struct pk_transport **out, uv_loop_t *loop,
                         const struct pk_endpoint *ep, const struct pk_transport_opts *opts,
                         char *errbuf)
{
    struct tcp_receiver *tt = calloc(1, sizeof(*tt));
    int rc;

    *out = NULL;
    if (tt == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    tt->raw.base.ops = &pk_transport_tcp_raw;
    tt->raw.role = PK_TRANSPORT_RECEIVER;
    tt->loop = loop;
    tt->max_message = opts->max_message;
    tt->min_message = opts->min_message;
    tt->access = opts->access;
    tt->capture_streams = opts->capture_streams;
    tt->is_message = opts->is_message;
    tt->receiving = 1;
    tt->control = opts->control;
    tt->max_conns = connection_limit();
    if ((rc = uv_timer_init(loop, &tt->sweep_timer)) != 0) {
        free(tt);
        return pk_seterr(errbuf, rc, "tcp-raw: cannot start timers: %s", uv_strerror(rc));
    }
    tt->sweep_timer.data = tt;
    if ((rc = uv_idle_init(loop, &tt->resume_idle)) != 0) {
        uv_close((uv_handle_t *)&tt->sweep_timer, pk_tcp_raw_free_data); /* frees tt */
        return pk_seterr(errbuf, rc, "tcp-raw: cannot start timers: %s", uv_strerror(rc));
    }
    tt->resume_idle.data = tt;
    tt->handles_open = 2;
    if ((rc = pk_listen_open(&tt->listen, loop, ep, on_connection, tt, "tcp://", errbuf)) != 0) {
        /* The usual close: tt is freed once the loop has released every handle. */
        pk_tcp_raw_receiver_close(&tt->raw.base, 0, NULL, NULL);
        return rc;
    }
    tt->last_sweep = uv_now(loop);
    uv_timer_start(&tt->sweep_timer, on_sweep, SWEEP_MS, SWEEP_MS);
    *out = &tt->raw.base;
    return 0;
}

/* Its own counters (transport.h): the receiver's bounds and deadlines. */
void
pk_tcp_raw_receiver_report(struct pk_transport *t, struct pk_transport_report *r)
{
#define REFUSED "packeteur_connections_refused_total", "counter",                                 \
        "Connections refused at accept, by reason: limit (the connection limit, all proven "      \
        "peers), per_address (the most one address may hold)."
#define TIMED_OUT "packeteur_connections_timed_out_total", "counter",                             \
        "Connections closed for a deadline, by reason: first_message (none valid in time, or "   \
        "made room at the limit), stalled (a partial message got no byte in time), budget_held " \
        "(held receive budget others waited for, and did not finish), silent (proven, no byte "  \
        "for 10 s, closed to make room at the connection limit)."
    static const struct pk_transport_stat
        waits = {"packeteur_receive_buffer_waits_total", "counter",
                 "Times a connection waited because the shared receive-buffer budget was spent.",
                 "", "messages", "buffer_waits", 0},
        limit = {REFUSED, "reason=\"limit\"", "security.connections", "refused_limit", 0},
        per_addr = {REFUSED, "reason=\"per_address\"", "security.connections",
                    "refused_per_address", 0},
        first = {TIMED_OUT, "reason=\"first_message\"", "security.connections",
                 "timed_out_first_message", 0},
        stalled = {TIMED_OUT, "reason=\"stalled\"", "security.connections", "timed_out_stalled", 0},
        held = {TIMED_OUT, "reason=\"budget_held\"", "security.connections",
                "timed_out_budget_held", 0},
        silent = {TIMED_OUT, "reason=\"silent\"", "security.connections", "timed_out_silent", 0},
        max = {"packeteur_connections_limit", "gauge", "The connection limit in force.", "",
               "security.connections", "limit", 0},
        ctl_sent = {NULL, "counter", "", "", "relay", "control_sent", 0},
        ctl_full = {NULL, "counter", "", "", "relay", "control_full", 0};
#undef REFUSED
#undef TIMED_OUT
    const struct tcp_receiver *tt = (const struct tcp_receiver *)t;

    pk_transport_stat_add(r, &waits, tt->buffer_waits);
    pk_transport_stat_add(r, &limit, tt->refused_limit);
    pk_transport_stat_add(r, &per_addr, tt->refused_per_addr);
    pk_transport_stat_add(r, &first, tt->closed[CLOSE_NO_HELLO]);
    pk_transport_stat_add(r, &stalled, tt->closed[CLOSE_STALLED]);
    pk_transport_stat_add(r, &held, tt->closed[CLOSE_HELD]);
    pk_transport_stat_add(r, &silent, tt->closed[CLOSE_SILENT]);
    pk_transport_stat_add(r, &max, tt->max_conns);
    if (tt->control) {
        pk_transport_stat_add(r, &ctl_sent, tt->control_sent);
        pk_transport_stat_add(r, &ctl_full, tt->control_full);
    }
}
