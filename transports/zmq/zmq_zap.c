#include "zmq_zap.h"
#include "access.h"
#include "pcktr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct zap_handler {
    void *sock; /* ZMQ_REP bound to inproc://zeromq.zap.01 */
    uv_poll_t poll;
    struct pk_access *access;
    uint64_t requests;
    void (*closed_cb)(void *data);
    void *closed_data;
};

#define ZAP_FRAMES_MAX 8 /* version, id, domain, address, identity, mechanism, credentials */
#define ZAP_FRAME_MAX 256

struct zap_request {
    char frame[ZAP_FRAMES_MAX][ZAP_FRAME_MAX];
    size_t len[ZAP_FRAMES_MAX];
    int nframes;
};

/* Receives one whole request; 0, or -EAGAIN when none is pending. Long frames are cut (and fail). */
static int
recv_request(void *sock, struct zap_request *r)
{
    int more = 1;

    r->nframes = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, r->nframes == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            return r->nframes == 0 ? -EAGAIN : 0;
        }
        if (r->nframes < ZAP_FRAMES_MAX) {
            size_t n = zmq_msg_size(&m) < ZAP_FRAME_MAX - 1 ? zmq_msg_size(&m) : ZAP_FRAME_MAX - 1;
            memcpy(r->frame[r->nframes], zmq_msg_data(&m), n);
            r->frame[r->nframes][n] = '\0';
            r->len[r->nframes] = zmq_msg_size(&m);
            r->nframes++;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    return 0;
}

static void
reply(void *sock, const struct zap_request *r, const char *code, const char *text,
      const char *user_id)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, r->frame[1], r->nframes > 1 ? r->len[1] : 0, ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0); /* metadata */
}

static void
answer(struct zap_handler *z, const struct zap_request *r)
{
    char key[PK_KEY_Z85_LEN + 1] = "";
    const char *addr = r->nframes > 3 ? r->frame[3] : "";

    z->requests++;
    if (r->nframes < 6 || strcmp(r->frame[0], "1.0") != 0) {
        reply(z->sock, r, "500", "malformed ZAP request", "");
        return;
    }
    if (!pk_cidr_match_str(z->access->allow, z->access->nallow, addr)) {
        pk_access_refuse(z->access, PK_REFUSED_ADDRESS, addr, "");
        reply(z->sock, r, "400", "address not allowed", "");
        return;
    }
    if (strcmp(r->frame[5], "CURVE") == 0) {
        if (r->nframes < 7 || r->len[6] != 32) {
            reply(z->sock, r, "500", "malformed CURVE credentials", "");
            return;
        }
        zmq_z85_encode(key, (const uint8_t *)r->frame[6], 32);
        if (!pk_access_key_allowed(z->access, key)) {
            pk_access_refuse(z->access, PK_REFUSED_KEY, addr, key);
            reply(z->sock, r, "400", "key not allowed", "");
            return;
        }
    }
    reply(z->sock, r, "200", "OK", key);
}

void
pk_zap_process(struct zap_handler *z)
{
    struct zap_request r;

    /* The fd is edge-triggered: answer until nothing is pending (libzmq doc/zmq_getsockopt). */
    while (recv_request(z->sock, &r) == 0)
        answer(z, &r);
    int events;
    size_t len = sizeof(events);
    zmq_getsockopt(z->sock, ZMQ_EVENTS, &events, &len);
}

static void
on_zap_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    pk_zap_process(container_of(h, struct zap_handler, poll));
}

static void
on_poll_closed(uv_handle_t *h)
{
    struct zap_handler *z = container_of((uv_poll_t *)h, struct zap_handler, poll);
    void (*cb)(void *data) = z->closed_cb;
    void *data = z->closed_data;

    if (z->sock != NULL)
        zmq_close(z->sock);
    free(z);
    if (cb != NULL)
        cb(data);
}

void
pk_zap_close(struct zap_handler *z, void (*cb)(void *data), void *data)
{
    z->closed_cb = cb;
    z->closed_data = data;
    uv_close((uv_handle_t *)&z->poll, on_poll_closed);
}

int
pk_zap_open(struct zap_handler **out, void *ctx, uv_loop_t *loop, struct pk_access *access,
            char *errbuf)
{
    struct zap_handler *z = calloc(1, sizeof(*z));
    uv_os_sock_t fd;
    size_t fdlen = sizeof(fd);
    int linger = 0, rc;

    *out = NULL;
    if (z == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    z->access = access;
    if ((z->sock = zmq_socket(ctx, ZMQ_REP)) == NULL ||
        zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0 ||
        zmq_getsockopt(z->sock, ZMQ_FD, &fd, &fdlen) != 0) {
        int err = zmq_errno();
        if (z->sock != NULL)
            zmq_close(z->sock);
        free(z);
        return pk_seterr(errbuf, -err, "zmq: cannot start the ZAP handler: %s", zmq_strerror(err));
    }
    if ((rc = uv_poll_init_socket(loop, &z->poll, fd)) != 0) {
        zmq_close(z->sock);
        free(z);
    } else if ((rc = uv_poll_start(&z->poll, UV_READABLE, on_zap_poll)) != 0) {
        /* The socket goes now, not in the close callback: the caller's zmq_ctx_term, which
         * waits for every socket of ctx, may come first. */
        zmq_close(z->sock);
        z->sock = NULL;
        pk_zap_close(z, NULL, NULL);
    }
    if (rc != 0)
        return pk_seterr(errbuf, rc, "zmq: cannot watch the ZAP handler: %s", uv_strerror(rc));
    *out = z;
    return 0;
}
