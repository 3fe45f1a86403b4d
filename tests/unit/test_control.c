/*
 * The return path of the control plane (transport.h: opts->control, send_control, on_control),
 * for each transport that has one: a receiver and a sender on one loop over 127.0.0.1, one
 * message up so the receiver learns the peer, then control messages down. Loop thread only.
 */
#include "endpoint.h"
#include "transport.h"

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

#define WAIT_MS 5000

struct pair {
    uv_loop_t loop;
    struct pk_transport *rx, *tx;
    char peer[64];          /* what on_message said */
    uint8_t got[512];       /* the last control message */
    size_t got_len;
    int controls, messages, downs, ups, closed;
};

static uint16_t
free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
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
    /* the largest one, and the bound on what is pending: 256 KiB, then -EAGAIN */
    int rc = 0, n = 0;
    while (n < 16 && (rc = p.rx->ops->send_control(p.rx, p.peer, big, sizeof(big) - 1)) == 0)
        n++;
    assert_int_equal(rc, -EAGAIN);
    assert_true(n >= 3 && n <= 4);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_raw_round_trip),
        cmocka_unit_test(test_tcp_raw_oversized_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
