/*
 * The return path of the control plane (transport.h: opts->control, send_control, on_control),
 * for each transport that has one: a receiver and a sender on one loop over 127.0.0.1, one
 * message up so the receiver learns the peer, then control messages down. Loop thread only.
 */
#include "access.h"
#include "endpoint.h"
#include "transport.h"
#include "zmq_keys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#define WAIT_MS 5000

struct pair {
    uv_loop_t loop;
    struct pk_transport *rx, *tx;
    char peer[64];          /* what on_message said */
    uint8_t got[512];       /* the last control message */
    const uint8_t *prefix;  /* zmq: what every control message delivered must start with */
    size_t prefix_len;
    int off_prefix;         /* zmq: delivered messages that do not */
    size_t got_len;
    int controls, messages, downs, ups, closed;
    struct pk_access access; /* zero: every address and key, refusals counted */
};

static int
port_free(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    assert_true(fd >= 0);
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* A port P with P + 1 free too (zmq's control socket), below the ephemeral range, where the
 * kernel's own choices for outgoing connections do not land on it. */
static uint16_t
free_port(void)
{
    uint32_t r = 0;

    for (int i = 0; i < 200; i++) {
        uv_random(NULL, NULL, &r, sizeof(r), 0, NULL);
        uint16_t port = (uint16_t)(20000 + r % 10000);
        if (port_free(port) && port_free((uint16_t)(port + 1)))
            return port;
    }
    fail_msg("no free port pair");
    return 0;
}

static int
on_message(struct pk_transport *t, const uint8_t *buf, size_t len, const struct pk_peer *peer)
{
    struct pair *p = t->data;

    (void)buf;
    if (len > 0) {
        p->messages++;
        snprintf(p->peer, sizeof(p->peer), "%s", peer->addr);
    }
    return 0;
}

static void
on_control(struct pk_transport *t, const uint8_t *buf, size_t len)
{
    struct pair *p = t->data;

    p->controls++;
    if (p->prefix != NULL && (len < p->prefix_len || memcmp(buf, p->prefix, p->prefix_len) != 0))
        p->off_prefix++;
    p->got_len = len < sizeof(p->got) ? len : sizeof(p->got);
    memcpy(p->got, buf, p->got_len);
}

static void
on_peer(struct pk_transport *t, enum pk_peer_event ev, const char *peer, const char *why)
{
    struct pair *p = t->data;

    (void)peer;
    (void)why;
    p->downs += ev == PK_PEER_DOWN;
    p->ups += ev == PK_PEER_UP;
}

static void
on_writable(struct pk_transport *t)
{
    (void)t;
}

static void
on_closed(void *data, int flushed)
{
    (void)flushed;
    ((struct pair *)data)->closed++;
}

static void
on_watchdog(uv_timer_t *h)
{
    uv_stop(h->loop);
}

/* Runs the loop until *flag >= want or WAIT_MS passes; returns *flag. */
static int
run_until(struct pair *p, const int *flag, int want)
{
    uv_timer_t dog;
    uint64_t end = uv_now(&p->loop) + WAIT_MS;

    uv_timer_init(&p->loop, &dog);
    while (*flag < want && uv_now(&p->loop) < end) {
        uv_timer_start(&dog, on_watchdog, 10, 0);
        uv_run(&p->loop, UV_RUN_ONCE);
        uv_update_time(&p->loop);
    }
    uv_close((uv_handle_t *)&dog, NULL);
    uv_run(&p->loop, UV_RUN_NOWAIT);
    return *flag;
}

static void
hook(struct pair *p, struct pk_transport *t)
{
    t->data = p;
    t->on_message = on_message;
    t->on_control = on_control;
    t->on_peer = on_peer;
    t->on_writable = on_writable;
}

/* A message of n bytes that starts with "PKTR", byte i after it = seed + i. */
static void
make_msg(uint8_t *buf, size_t n, uint8_t seed)
{
    memcpy(buf, "PKTR", 4);
    for (size_t i = 4; i < n; i++)
        buf[i] = (uint8_t)(seed + i);
}

static void
open_pair(struct pair *p, const char *name, uint16_t port, const struct pk_transport_config *rc,
          const struct pk_transport_config *sc, const uint8_t *prefix, size_t prefix_len)
{
    const struct pk_transport_ops *ops = pk_transport_find(name);
    struct pk_transport_opts ro = {.role = PK_TRANSPORT_RECEIVER, .config = rc,
                                   .max_message = 1 << 20, .min_message = 4, .control = 1};
    struct pk_transport_opts so = {.role = PK_TRANSPORT_SENDER, .config = sc, .queue_limit = 64,
                                   .control = 1, .control_prefix = prefix,
                                   .control_prefix_len = prefix_len};
    struct pk_endpoint ep = {.port = port};
    char err[256] = "";

    assert_non_null(ops);
    assert_non_null(ops->send_control);
    memset(p, 0, sizeof(*p));
    ro.access = &p->access;
    assert_int_equal(uv_loop_init(&p->loop), 0);
    snprintf(ep.host, sizeof(ep.host), "127.0.0.1");
    assert_int_equal(pk_endpoint_resolve(&ep, err), 0);
    char uri[64];
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", port);
    ro.uri = so.uri = uri;
    int rc_open = ops->open(&p->rx, &p->loop, &ep, &ro, err);
    if (rc_open != 0)
        fail_msg("receiver: %s", err);
    hook(p, p->rx);
    rc_open = ops->open(&p->tx, &p->loop, &ep, &so, err);
    if (rc_open != 0)
        fail_msg("sender: %s", err);
    hook(p, p->tx);
}

/* One message up, so that the receiver learns the sender's peer address. */
static void
learn_peer(struct pair *p)
{
    uint8_t msg[64];

    make_msg(msg, sizeof(msg), 1);
    assert_int_equal(p->tx->ops->send(p->tx, msg, sizeof(msg)), 0);
    assert_int_equal(run_until(p, &p->messages, 1), 1);
}

static void
close_pair(struct pair *p)
{
    p->tx->ops->close(p->tx, 0, on_closed, p);
    p->rx->ops->close(p->rx, 0, on_closed, p);
    assert_int_equal(run_until(p, &p->closed, 2), 2);
    uv_run(&p->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&p->loop), 0);
}

static void
test_tcp_raw_round_trip(void **state)
{
    struct pair p;
    uint8_t ctl[100], big[PK_CONTROL_MESSAGE_MAX + 1];

    (void)state;
    open_pair(&p, "tcp-raw", free_port(), NULL, NULL, NULL, 0);
    learn_peer(&p);
    make_msg(ctl, sizeof(ctl), 7);
    assert_int_equal(p.rx->ops->send_control(p.rx, "127.0.0.1:1", ctl, sizeof(ctl)), -ENOTCONN);
    assert_int_equal(p.rx->ops->send_control(p.rx, p.peer, ctl, 0), -EINVAL);
    make_msg(big, sizeof(big), 0);
    assert_int_equal(p.rx->ops->send_control(p.rx, p.peer, big, sizeof(big)), -EMSGSIZE);
    assert_int_equal(p.rx->ops->send_control(p.rx, p.peer, ctl, sizeof(ctl)), 0);
    assert_int_equal(run_until(&p, &p.controls, 1), 1);
    assert_int_equal(p.got_len, sizeof(ctl));
    assert_memory_equal(p.got, ctl, sizeof(ctl));
    /* the largest one is taken when nothing waits, and the bound on what is pending (16 KiB)
     * refuses the next until it is written */
    int rc = 0, n = 0;
    while (n < 16 && (rc = p.rx->ops->send_control(p.rx, p.peer, big, sizeof(big) - 1)) == 0)
        n++;
    assert_int_equal(rc, -EAGAIN);
    assert_true(n >= 1 && n <= 2);
    assert_int_equal(run_until(&p, &p.controls, 1 + n), 1 + n);
    assert_int_equal(p.rx->ops->send_control(p.rx, p.peer, ctl, sizeof(ctl)), 0);
    assert_int_equal(run_until(&p, &p.controls, 2 + n), 2 + n);
    assert_memory_equal(p.got, ctl, sizeof(ctl));
    assert_int_equal(p.downs, 0);
    close_pair(&p);
}

/* A fake collector: a plain listening socket that writes a huge length to the agent. */
static void
test_tcp_raw_oversized_frame(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    struct pk_transport_opts so = {.role = PK_TRANSPORT_SENDER, .queue_limit = 8, .control = 1};
    struct pk_endpoint ep = {.port = 0};
    struct pair p;
    char err[256];
    int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd;
    const uint8_t bad[8] = {0xff, 0xff, 0xff, 0x7f, 'P', 'K', 'T', 'R'};

    (void)state;
    memset(&p, 0, sizeof(p));
    assert_int_equal(uv_loop_init(&p.loop), 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    ep.port = ntohs(a.sin_port);
    snprintf(ep.host, sizeof(ep.host), "127.0.0.1");
    assert_int_equal(pk_endpoint_resolve(&ep, err), 0);
    assert_int_equal(pk_transport_find("tcp-raw")->open(&p.tx, &p.loop, &ep, &so, err), 0);
    hook(&p, p.tx);
    assert_int_equal(run_until(&p, &p.ups, 1), 1);
    assert_true((cfd = accept(lfd, NULL, NULL)) >= 0);
    assert_int_equal(write(cfd, bad, sizeof(bad)), (ssize_t)sizeof(bad));
    assert_int_equal(run_until(&p, &p.downs, 1), 1);
    assert_int_equal(p.controls, 0);
    close(cfd);
    close(lfd);
    p.tx->ops->close(p.tx, 0, on_closed, &p);
    assert_int_equal(run_until(&p, &p.closed, 1), 1);
    assert_int_equal(uv_loop_close(&p.loop), 0);
}

/* The zmq configs of both sides, with a fresh CURVE key pair each (pcktr keygen's kind). */
static void
zmq_configs(struct pk_transport_config **rc, struct pk_transport_config **sc, const char *bind,
            const char *connect)
{
    static char spub[41], ssec[41], apub[41], asec[41];
    const struct pk_transport_ops *ops = pk_transport_find("zmq");
    struct zmq_settings rs = {.max_message = 384 << 10, .max_peers = 64}, ss = rs;
    char err[256] = "";

    assert_int_equal(zmq_curve_keypair(spub, ssec), 0);
    assert_int_equal(zmq_curve_keypair(apub, asec), 0);
    rs.collect_curve_secretkey = ssec;
    rs.collect_curve_allowed = rs.relay_curve_serverkey = rs.relay_curve_secretkey = "";
    rs.relay_curve_publickey = rs.control_endpoint = "";
    ss = rs;
    rs.control_endpoint = bind;
    ss.control_endpoint = connect;
    ss.collect_curve_secretkey = "";
    ss.relay_curve_serverkey = spub;
    ss.relay_curve_secretkey = asec;
    if (ops->configure(&rs, PK_TRANSPORT_RECEIVER, rc, err) != 0)
        fail_msg("collector config: %s", err);
    if (ops->configure(&ss, PK_TRANSPORT_SENDER, sc, err) != 0)
        fail_msg("agent config: %s", err);
}

static void
on_tick(uv_timer_t *h)
{
    uv_stop(h->loop);
}

/* Publishes wrong then right every 20 ms until the agent has `want` control messages: PUB/SUB
 * drops what is sent before the subscription reaches the collector (the slow joiner). */
static void
publish_until(struct pair *p, const uint8_t *wrong, const uint8_t *right, size_t len, int want)
{
    uint64_t end = uv_now(&p->loop) + WAIT_MS;
    uv_timer_t tick;

    uv_timer_init(&p->loop, &tick);
    while (p->controls < want && uv_now(&p->loop) < end) {
        assert_int_equal(p->rx->ops->send_control(p->rx, p->peer, wrong, len), 0);
        assert_int_equal(p->rx->ops->send_control(p->rx, p->peer, right, len), 0);
        uv_timer_start(&tick, on_tick, 20, 0);
        uv_run(&p->loop, UV_RUN_DEFAULT);
        uv_update_time(&p->loop);
    }
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&p->loop, UV_RUN_NOWAIT);
    assert_true(p->controls >= want);
}

static void
zmq_round_trip(const char *bind, const char *connect, uint16_t port)
{
    static const uint8_t prefix[8] = {'P', 'K', 'T', 'R', 'c', 't', 'l', 1};
    struct pk_transport_config *rc, *sc;
    const struct pk_transport_ops *ops = pk_transport_find("zmq");
    uint8_t right[200], wrong[200], big[PK_CONTROL_MESSAGE_MAX + 1];
    struct pair p;

    zmq_configs(&rc, &sc, bind, connect);
    open_pair(&p, "zmq", port, rc, sc, prefix, sizeof(prefix));
    /* the PUB socket is bound where ZMQ_CONTROL_ENDPOINT says, or else on port + 1 */
    assert_int_equal(port_free((uint16_t)(port + 1)), bind[0] != '\0');
    p.prefix = prefix;
    p.prefix_len = sizeof(prefix);
    learn_peer(&p);
    make_msg(right, sizeof(right), 3);
    memcpy(right, prefix, sizeof(prefix));
    memcpy(wrong, right, sizeof(right));
    wrong[7] = 2; /* another agent's source */
    assert_int_equal(p.rx->ops->send_control(p.rx, p.peer, right, 0), -EINVAL);
    make_msg(big, sizeof(big), 0);
    assert_int_equal(p.rx->ops->send_control(p.rx, p.peer, big, sizeof(big)), -EMSGSIZE);
    publish_until(&p, wrong, right, sizeof(right), 1);
    /* subscribed now: one more pair, in order on one connection, and only `right` arrives */
    int before = p.controls;
    publish_until(&p, wrong, right, sizeof(right), before + 1);
    assert_int_equal(p.off_prefix, 0);
    assert_int_equal(p.got_len, sizeof(right));
    assert_memory_equal(p.got, right, sizeof(right));
    struct pk_transport_report r = {0};
    pk_transport_get_report(p.rx, &r);
    int found = 0;
    for (size_t i = 0; i < r.n; i++)
        found += r.stat[i].field != NULL && strcmp(r.stat[i].field, "control_sent") == 0 &&
                 r.stat[i].value >= 4;
    assert_int_equal(found, 1);
    close_pair(&p);
    ops->config_free(rc);
    ops->config_free(sc);
}

/* ZMQ_CONTROL_ENDPOINT empty: the data endpoint's port + 1 */
static void
test_zmq_round_trip(void **state)
{
    (void)state;
    zmq_round_trip("", "", free_port());
}

/* ZMQ_CONTROL_ENDPOINT set: where it says, on both sides */
static void
test_zmq_control_endpoint(void **state)
{
    uint16_t port = free_port(), ctl;
    char bind[64], connect[64];

    (void)state;
    do
        ctl = free_port();
    while (ctl == port || ctl == port + 1 || ctl + 1 == port);
    snprintf(bind, sizeof(bind), "tcp://127.0.0.1:%u", ctl);
    snprintf(connect, sizeof(connect), "tcp://127.0.0.1:%u", ctl);
    zmq_round_trip(bind, connect, port);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_raw_round_trip),
        cmocka_unit_test(test_tcp_raw_oversized_frame),
        cmocka_unit_test(test_zmq_round_trip),
        cmocka_unit_test(test_zmq_control_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
