/*
 * The zmq transport's monitor: libzmq reports connections, disconnections and handshake results
 * of zt->sock on an inproc PAIR socket, read on the loop thread. The sender follows its peer
 * (and connects again after a refused handshake); the receiver counts connections and
 * handshake failures, and enforces at accept COLLECT_ALLOW, the peer limit (COLLECT_MAX_PEERS)
 * and each address's share of it.
 */
#include "access.h"
#include "pcktr.h"
#include "zmq_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>

/* libzmq gives up on an endpoint whose handshake failed for a protocol reason (a refused key);
 * the agent connects again after this long, so that a key allowed later is taken. */
#define REFUSED_RETRY_MS 2000

static const char *
protocol_error_name(uint32_t code)
{
    switch (code) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        return "CURVE cryptographic error: a wrong key";
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return "security mechanism mismatch: one side uses CURVE, the other not";
    case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE:
        return "CURVE key exchange failed";
    default:
        return "ZMTP protocol error";
    }
}

static void
on_retry_timer(uv_timer_t *h)
{
    struct zmq_transport *zt = container_of(h, struct zmq_transport, retry_timer);

    if (zt->npeers > 0)
        return; /* connected again meanwhile: a disconnect now would drop its queue */
    zmq_disconnect(zt->sock, zt->connect_uri); /* ENOENT when libzmq dropped it already */
    zmq_connect(zt->sock, zt->connect_uri);
}

/* Counts a failed handshake; for the receiver, also a refusal (AUTH: ZAP counted it already). */
static void
handshake_failed(struct zmq_transport *zt, uint16_t event, uint32_t value)
{
    struct pk_transport *t = &zt->base;
    const char *detail = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "refused by the collector"
                         : event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                             ? "no detail"
                             : protocol_error_name(value);

    zt->handshake_failures++;
    if (zt->role == PK_TRANSPORT_SENDER) {
        const char *key = pk_zmq_public_key(zt->config);
        char why[256];
        snprintf(why, sizeof(why), "check that RELAY_CURVE_SERVERKEY is the collector's public "
                 "key and that this agent's public key %s is in its COLLECT_CURVE_ALLOWED",
                 key != NULL ? key : "(none: the relay is unencrypted)");
        /* After a protocol or auth failure libzmq stops trying; after others it goes on. */
        if (event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL &&
            !uv_is_active((uv_handle_t *)&zt->retry_timer))
            uv_timer_start(&zt->retry_timer, on_retry_timer, REFUSED_RETRY_MS, 0);
        if (t->on_peer)
            t->on_peer(t, PK_PEER_REFUSED, detail, why);
    } else if (event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && zt->access != NULL) {
        pk_access_refuse(zt->access, PK_REFUSED_HANDSHAKE, "", detail);
    }
}

/* 1 when fd was closed at accept for the peer limit; clear: forget it (it is gone). */
static int
fd_refused(struct zmq_transport *zt, uint32_t fd, int clear)
{
    uint8_t bit = (uint8_t)(1u << (fd % 8));
    int on = fd < REFUSED_FD_MAX && (zt->refused_fds[fd / 8] & bit);

    if (on && clear)
        zt->refused_fds[fd / 8] &= (uint8_t)~bit;
    return on;
}

/*
 * The peer limit (COLLECT_MAX_PEERS). libzmq cannot refuse a connection, and its decoder takes
 * up to ZMQ_MAXMSGSIZE from a peer before the handshake (and ZAP) even begins, so the limit
 * holds from accept: ZMQ_EVENT_ACCEPTED carries the new connection's fd, and pk_zmq_abort()
 * resets it, so libzmq's next read fails and it closes it itself (DISCONNECTED, same fd). The fd
 * stays libzmq's; it is never closed here. libzmq queues DISCONNECTED before it closes an fd, so an
 * fd is not reused before its DISCONNECTED is read, except by a connection accepted after this
 * drain of the monitor: then that newer connection is closed instead (an agent connects again).
 * Returns 1 when the fd is tracked until its DISCONNECTED (not counted as a peer).
 */
static int
refuse_connection(struct zmq_transport *zt, uint32_t fd, enum pk_refusal why)
{
    char addr[INET6_ADDRSTRLEN];

    pk_zmq_peer_addr((int)fd, addr, sizeof(addr));
    pk_zmq_abort((int)fd);
    if (zt->access != NULL && why != PK_REFUSALS) /* PK_REFUSALS: counted by the caller */
        pk_access_refuse(zt->access, why, addr, "");
    if (fd >= REFUSED_FD_MAX)
        return 0; /* not tracked: counted as a peer until it is gone, so the books balance */
    zt->refused_fds[fd / 8] |= (uint8_t)(1u << (fd % 8));
    return 1;
}

/*
 * At accept (receiver), like tcp-raw: an address outside COLLECT_ALLOW is reset at once (ZAP
 * would refuse it too, but only after libzmq held its slot and read its bytes for up to the
 * handshake timeout); at the peer limit the oldest connection that has not delivered a valid
 * message makes room, and only when every slot holds a proven peer is the new one refused;
 * the same within an address's share (PEERS_PER_ADDR_DIVISOR).
 * Connections reset but not yet DISCONNECTED (nclosing) hold no slot. 1: fd was refused.
 */
static int
accept_refused(struct zmq_transport *zt, uint32_t fd)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    uint64_t per_addr = zt->max_peers / PEERS_PER_ADDR_DIVISOR;

    if (getpeername((int)fd, (struct sockaddr *)&ss, &sslen) != 0)
        ss.ss_family = 0; /* gone already: libzmq sees it too */
    if (zt->access != NULL && zt->access->nallow > 0 && ss.ss_family != 0 &&
        !pk_cidr_match(zt->access->allow, zt->access->nallow, (struct sockaddr *)&ss))
        return refuse_connection(zt, fd, PK_REFUSED_ADDRESS);
    if (per_addr > 0 && ss.ss_family != 0 && pk_zmq_guard_count_from(zt, &ss) >= per_addr &&
        !pk_zmq_guard_displace(zt, &ss)) {
        zt->conns_refused_per_addr++;
        return refuse_connection(zt, fd, PK_REFUSALS);
    }
    if (zt->max_peers > 0 && (uint64_t)(zt->npeers - zt->nclosing) >= zt->max_peers &&
        !pk_zmq_guard_displace(zt, NULL))
        return refuse_connection(zt, fd, PK_REFUSED_PEER_LIMIT);
    return 0;
}

/*
 * The sender counts a peer from its handshake to its disconnect. The receiver counts TCP
 * connections (accepted to disconnected): a refused or garbage connection disconnects
 * without a handshake, and a handshake event does not say which connection it was. The
 * receiver's "no detail" failure is counted at the DISCONNECTED that libzmq emits right after
 * it (stream_engine_base.cpp error()), which names the fd: not for a connection refused here.
 */
static void
on_monitor_event(struct zmq_transport *zt, uint16_t event, uint32_t value, const char *peer)
{
    struct pk_transport *t = &zt->base;
    int sender = zt->role == PK_TRANSPORT_SENDER;

    if (zt->failure_pending && event != ZMQ_EVENT_DISCONNECTED) {
        zt->failure_pending = 0;
        handshake_failed(zt, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0);
    }
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        zt->handshakes++;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !sender)
        return; /* the receiver counts connections from ACCEPTED */
    switch (event) {
    case ZMQ_EVENT_ACCEPTED: /* receiver (a sender never accepts) */
        if (!sender && accept_refused(zt, value))
            break;
        if (!sender)
            pk_zmq_guard_add(zt, (int)value);
        /* fall through */
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: /* sender */
        zt->npeers++;
        t->counters.connects++;
        if (t->on_peer)
            t->on_peer(t, PK_PEER_UP, sender ? peer : "",
                       pk_zmq_public_key(zt->config) != NULL ? "CURVE" : "");
        break;
    case ZMQ_EVENT_DISCONNECTED:
        if (!sender) {
            int refused = fd_refused(zt, value, 1);
            /* one reset here (no first message, made room) ends as a failed handshake too */
            if (zt->failure_pending && !refused && !pk_zmq_guard_was_reset(zt, (int)value))
                handshake_failed(zt, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0);
            zt->failure_pending = 0;
            if (refused)
                break;
            pk_zmq_guard_remove(zt, (int)value);
        }
        if (zt->npeers == 0)
            break; /* the sender's handshake never succeeded */
        zt->npeers--;
        t->counters.disconnects++;
        if (t->on_peer)
            t->on_peer(t, PK_PEER_DOWN, sender ? peer : "", "");
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        if (!sender) {
            zt->failure_pending = 1;
            break;
        }
        /* fall through */
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        handshake_failed(zt, event, value);
        break;
    }
}

int
pk_zmq_monitor_read(void *mon, uint16_t *event, uint32_t *value, char *peer, size_t peerlen)
{
    for (;;) {
        int zevents = 0, got = 0;
        size_t len = sizeof(zevents);
        zmq_msg_t head, addr;

        if (zmq_getsockopt(mon, ZMQ_EVENTS, &zevents, &len) != 0 || !(zevents & ZMQ_POLLIN))
            return 0;
        zmq_msg_init(&head);
        zmq_msg_init(&addr);
        peer[0] = '\0';
        /* A monitor event is two frames: [u16 event, u32 value] and the endpoint string. */
        if (zmq_msg_recv(&head, mon, ZMQ_DONTWAIT) >= 0) {
            if (zmq_msg_more(&head) && zmq_msg_recv(&addr, mon, 0) >= 0) {
                size_t n = zmq_msg_size(&addr) < peerlen - 1 ? zmq_msg_size(&addr) : peerlen - 1;
                memcpy(peer, zmq_msg_data(&addr), n);
                peer[n] = '\0';
            }
            if ((got = zmq_msg_size(&head) >= 6)) {
                memcpy(event, zmq_msg_data(&head), sizeof(*event));
                memcpy(value, (const uint8_t *)zmq_msg_data(&head) + 2, sizeof(*value));
            }
        }
        zmq_msg_close(&head);
        zmq_msg_close(&addr);
        if (got)
            return 1;
    }
}

void
pk_zmq_monitor_drain(struct zmq_transport *zt)
{
    uint16_t event;
    uint32_t value;
    char peer[128];

    while (pk_zmq_monitor_read(zt->mon, &event, &value, peer, sizeof(peer)))
        on_monitor_event(zt, event, value, peer);
}

int
pk_zmq_monitor_open(struct zmq_transport *zt, char *errbuf)
{
    char uri[64];
    int linger = 0, err;

    snprintf(uri, sizeof(uri), "inproc://pk-monitor-%p", (void *)zt);
    if (zmq_socket_monitor(zt->sock, uri,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_ACCEPTED |
                               ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        (zt->mon = zmq_socket(zt->ctx, ZMQ_PAIR)) == NULL || zmq_connect(zt->mon, uri) != 0) {
        err = zmq_errno();
        return pk_seterr(errbuf, -err, "zmq monitor %s: %s", uri, zmq_strerror(err));
    }
    if (zmq_setsockopt(zt->mon, ZMQ_LINGER, &linger, sizeof(linger)) != 0) {
        err = zmq_errno();
        return pk_seterr(errbuf, -err, "zmq monitor %s: ZMQ_LINGER: %s", uri, zmq_strerror(err));
    }
    return 0;
}

/* Its own counters (transport.h): handshakes, and the receiver's guard of connections. */
void
pk_zmq_report(struct pk_transport *t, struct pk_transport_report *r)
{
    static const struct pk_transport_stat
        relay_failures = {"packeteur_relay_handshake_failures_total", "counter",
                          "Security handshakes with the collector that failed (wrong key, key "
                          "not allowed).", "", "relay", "handshake_failures", 0},
        handshakes = {NULL, NULL, NULL, NULL, "security.connections", "handshakes", 0},
        failures = {NULL, NULL, NULL, NULL, "security.connections", "handshake_failures", 0},
        per_addr = {"packeteur_connections_refused_total", "counter",
                    "Connections refused at accept, by reason: per_address (past a quarter of "
                    "COLLECT_MAX_PEERS from one address, all of them proven peers).",
                    "reason=\"per_address\"", "security.connections", "refused_per_address", 0},
        first = {"packeteur_connections_timed_out_total", "counter",
                 "Connections reset for a deadline, by reason: first_message (none valid in 5 s "
                 "of intake, or made room at COLLECT_MAX_PEERS).",
                 "reason=\"first_message\"", "security.connections", "timed_out_first_message", 0};
    const struct zmq_transport *zt = (const struct zmq_transport *)t;

    if (zt->role == PK_TRANSPORT_SENDER) {
        pk_transport_stat_add(r, &relay_failures, zt->handshake_failures);
        return;
    }
    pk_transport_stat_add(r, &handshakes, zt->handshakes);
    pk_transport_stat_add(r, &failures, zt->handshake_failures);
    pk_transport_stat_add(r, &per_addr, zt->conns_refused_per_addr);
    pk_transport_stat_add(r, &first, zt->conns_no_first_message);
    pk_zmq_control_report(zt, r);
}
