/*
 * Loop-wide helpers: SIGINT/SIGTERM handling for an orderly stop, and closing every handle
 * left on a loop before uv_loop_close. Loop thread only.
 */
#ifndef PK_LOOP_H
#define PK_LOOP_H

#include <uv.h>

struct pk_signals {
    uv_signal_t sigint, sigterm;
    void (*on_stop)(void *data, int signum);
    void *data;
    int received;
};

/**
 * Calls on_stop at the first SIGINT or SIGTERM. A second one means the user will not wait for
 * the flush: the process exits 1 at once, saying so.
 */
void pk_signals_start(struct pk_signals *s, uv_loop_t *loop, void (*on_stop)(void *, int),
                      void *data);
void pk_signals_close(struct pk_signals *s);

/** Closes every handle still open, runs the loop until they are released, closes the loop. */
void pk_loop_finish(uv_loop_t *loop);

/** The wall clock in ns since the Unix epoch (for timestamps that leave the process). */
uint64_t pk_now_ns(void);

#endif
