/* Signals and loop teardown; see loop.h. */
#define PK_LOG_MODULE "main"
#include "loop.h"
#include "log.h"
#include "pcktr.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

static void
on_signal(uv_signal_t *h, int signum)
{
    struct pk_signals *s = h->data;

    if (s->received++ > 0) {
        pk_warn("second %s: exiting without flushing", signum == SIGINT ? "SIGINT" : "SIGTERM");
        _exit(PK_EXIT_RUNTIME);
    }
    pk_info("%s received: flushing and stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    s->on_stop(s->data, signum);
}

void
pk_signals_start(struct pk_signals *s, uv_loop_t *loop, void (*on_stop)(void *, int), void *data)
{
    s->on_stop = on_stop;
    s->data = data;
    s->received = 0;
    uv_signal_init(loop, &s->sigint);
    uv_signal_init(loop, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    /* Signal handles must not keep the loop alive once the work is done. */
    uv_unref((uv_handle_t *)&s->sigint);
    uv_unref((uv_handle_t *)&s->sigterm);
}

void
pk_signals_close(struct pk_signals *s)
{
    if (!uv_is_closing((uv_handle_t *)&s->sigint)) {
        uv_close((uv_handle_t *)&s->sigint, NULL);
        uv_close((uv_handle_t *)&s->sigterm, NULL);
    }
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
    uv_run(loop, UV_RUN_DEFAULT);
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
