/*
 * Signals and loop teardown; see loop.h.
 *
 * libuv's uv_signal installs a handler that writes to a pipe the loop reads, and restores the
 * thread's signal mask after changing handlers (uv__signal_block_and_lock), so handlers can be
 * started with the signals blocked: a signal that came in meanwhile stays pending and runs the
 * handler when pk_loop_finish unblocks it, right before the loop runs.
 */
#define PK_LOG_MODULE "main"
#include "loop.h"
#include "log.h"
#include "pcktr.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define PK_SIGNAL_REPEAT_NS 1000000000u

/* The mask is per thread and the process has one loop: whether handlers are in place is too. */
static int handlers_started;

static void
set_mask(int how)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    (void)pthread_sigmask(how, &set, NULL);
}

void
pk_signals_block(void)
{
    set_mask(SIG_BLOCK);
}

static void
on_signal(uv_signal_t *h, int signum)
{
    struct pk_signals *s = h->data;
    const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";

    /*
     * One request often arrives twice: coreutils timeout signals the child and then its own
     * process group, and a shell may pass a terminal's SIGINT on as well. A repeat within
     * PK_SIGNAL_REPEAT_NS of the first is that same request, not the user giving up the flush.
     */
    if (s->received > 0 && uv_hrtime() - s->first_ns < PK_SIGNAL_REPEAT_NS) {
        pk_debug("%s again within 1 s of the first: taken as the same request", name);
        return;
    }
    if (s->received++ > 0 || s->stopping) {
        pk_warn("%s while stopping: exiting without flushing", name);
        _exit(PK_EXIT_RUNTIME);
    }
    s->first_ns = uv_hrtime();
    pk_info("%s received: flushing and stopping", name);
    s->on_stop(s->data, signum);
}

static void
on_sighup(uv_signal_t *h, int signum)
{
    struct pk_signals *s = h->data;

    (void)signum;
    s->on_hup(s->data);
}

int
pk_signals_start(struct pk_signals *s, uv_loop_t *loop, void (*on_stop)(void *, int), void *data)
{
    int rc;

    s->on_stop = on_stop;
    s->on_hup = NULL;
    s->data = data;
    s->received = s->stopping = 0;
    if ((rc = uv_signal_init(loop, &s->sigint)) != 0)
        return rc;
    s->sigint.data = s;
    /* Signal handles must not keep the loop alive once the work is done. */
    uv_unref((uv_handle_t *)&s->sigint);
    if ((rc = uv_signal_init(loop, &s->sigterm)) != 0)
        return rc;
    s->sigterm.data = s;
    uv_unref((uv_handle_t *)&s->sigterm);
    if ((rc = uv_signal_start(&s->sigint, on_signal, SIGINT)) != 0 ||
        (rc = uv_signal_start(&s->sigterm, on_signal, SIGTERM)) != 0)
        return rc;
    handlers_started = 1;
    return 0;
}

int
pk_signals_start_hup(struct pk_signals *s, void (*on_hup)(void *))
{
    int rc;

    s->on_hup = on_hup;
    if ((rc = uv_signal_init(s->sigint.loop, &s->sighup)) != 0)
        return rc;
    s->sighup.data = s;
    uv_unref((uv_handle_t *)&s->sighup);
    return uv_signal_start(&s->sighup, on_sighup, SIGHUP);
}

void
pk_signals_close(struct pk_signals *s)
{
    s->stopping = 1;
}

static void
close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void
pk_loop_finish(uv_loop_t *loop)
{
    /*
     * Without handlers (a start-up that failed before them) the signals stay blocked: a
     * pending SIGTERM or SIGHUP must not turn exit status 1 into death by a signal.
     */
    if (handlers_started)
        set_mask(SIG_UNBLOCK);
    uv_run(loop, UV_RUN_DEFAULT);
    /* Closing a signal handle restores the default action: block first. */
    set_mask(SIG_BLOCK);
    handlers_started = 0;
    uv_walk(loop, close_any, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop) != 0)
        pk_debug("loop closed with handles still open");
}

uint64_t
pk_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
pk_wall_ms(void)
{
    return pk_now_ns() / 1000000u;
}
