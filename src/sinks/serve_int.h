/*
 * The serve's members, shared by serve.c (listeners, lifecycle), serve_reader.c (a reader's
 * connection) and serve_connect.c (dialling out). Private to src/sinks. Loop thread only.
 */
#ifndef PK_SERVE_INT_H
#define PK_SERVE_INT_H

#include "listen.h"
#include "serve.h"
#include "sink.h"

#include <uv.h>

#define READER_IOV 16 /* pieces of a reader's queue per write */

struct dialer;

/* One reader's connection; freed in its handle's close callback. */
struct reader {
    uv_tcp_t tcp;
    uv_write_t wreq;
    struct pk_serve *sv;
    struct pk_sink *sink; /* NULL until added */
    struct dialer *dialer; /* SERVE_CONNECT: redial when it closes; NULL: accepted */
    struct reader *prev, *next;
    size_t inflight; /* bytes of the write in flight */
    int writing, closing, gated;
    char peer[96];
    const char *why; /* why it closes, for the log line */
};

/* A SERVE_CONNECT entry: its connection (one at a time) and its backoff. */
struct dialer {
    struct pk_serve *sv;
    const struct pk_serve_endpoint *ep;
    uv_timer_t timer;
    struct reader *r;       /* connecting or connected */
    uv_connect_t creq;
    uint64_t backoff_ms;
    int failing, addr;      /* failing: logged once until a connection works; the next address */
};

struct listener {
    struct pk_serve *sv;
    const struct pk_serve_endpoint *ep;
    struct pk_listen_set set;
};

struct pk_serve {
    uv_loop_t *loop;
    struct pk_sinkset *sinks;
    struct pk_serve_opts opts;
    struct listener listeners[PK_SERVE_MAX_ENDPOINTS];
    struct dialer dialers[PK_SERVE_MAX_ENDPOINTS];
    struct pk_serve_endpoint resolved[PK_SERVE_MAX_ENDPOINTS]; /* dialers' endpoints */
    int nlisteners, ndialers, stopped, closed;
    struct reader *readers; /* every open reader */
    struct pk_serve_counters counters;
};

/** A reader on an initialised tcp handle that is connected: adds its sink and starts it; on
 *  failure closes it. from: the endpoint it came through (for its sink and logs). */
void pk_reader_start(struct reader *r, const struct pk_serve_endpoint *from);

/** A new reader of sv (its tcp handle initialised); NULL: out of memory (nothing to close). */
struct reader *pk_reader_new(struct pk_serve *sv);

/** Closes a reader (once): its sink is removed, its dialer told, in the close callback. */
void pk_reader_close(struct reader *r, const char *why);

/** Dialling: start every dialer; a dialer's reader closed (redial after the backoff). */
void pk_dialers_start(struct pk_serve *sv);
void pk_dialer_closed(struct dialer *d, int was_connected);
void pk_dialers_stop(struct pk_serve *sv);

#endif
