/*
 * Loop-wide helpers: SIGINT/SIGTERM handling for an orderly stop, SIGHUP for a reload, the
 * signal mask that keeps start-up from being cut short by a signal, and closing every handle
 * left on a loop before uv_loop_close. Loop thread only.
 */
#ifndef PK_LOOP_H
#define PK_LOOP_H

#include <stdint.h>
#include <uv.h>

struct pk_signals {
    uv_signal_t sigint, sigterm, sighup;
    void (*on_stop)(void *data, int signum);
    void (*on_hup)(void *data); /* NULL: SIGHUP is not handled here */
    void *data;
    int received;      /* SIGINT/SIGTERM received */
    uint64_t first_ns; /* uv_hrtime() of the first */
    int stopping; /* pk_signals_close was called */
};

/**
 * Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, and so in every thread it starts
 * later (libzmq's, libuv's pool). Call first in main: a signal that arrives while the process
 * starts stays pending instead of killing it (SIGHUP's default action) or cutting the start-up
 * short, and is delivered by pk_loop_finish once the mode's handlers are in place.
 */
void pk_signals_block(void);

/**
 * Calls on_stop at the first SIGINT or SIGTERM. Another one more than 1 s later, or one after
 * pk_signals_close that is not such a repeat, means the user will not wait for the flush: the
 * process exits 1 at once, saying so. Repeats within 1 s are the same request delivered twice.
 * 0, or the negative errno of libuv's uv_signal_init or uv_signal_start (the handles that were
 * initialised are closed by pk_loop_finish).
 */
int pk_signals_start(struct pk_signals *s, uv_loop_t *loop, void (*on_stop)(void *, int),
                     void *data);

/** After pk_signals_start: calls on_hup(data) at each SIGHUP, for as long as the loop runs.
 *  0 or a negative errno, as pk_signals_start. */
int pk_signals_start_hup(struct pk_signals *s, void (*on_hup)(void *));

/**
 * The process is stopping: from now on SIGINT or SIGTERM exits at once. The handles stay open
 * (unreferenced, they do not keep the loop alive) so that no signal meets its default action
 * while the loop still runs; pk_loop_finish closes them.
 */
void pk_signals_close(struct pk_signals *s);

/**
 * Runs the loop until it is done (delivering, first, any signal that arrived during start-up
 * if pk_signals_start was called), then blocks the signals again, closes every handle still
 * open, runs the loop until they are released and closes it.
 */
void pk_loop_finish(uv_loop_t *loop);

/** The wall clock in ns since the Unix epoch (for timestamps that leave the process). */
uint64_t pk_now_ns(void);

/** The wall clock in ms since the Unix epoch (file names, changes that are kept). */
uint64_t pk_wall_ms(void);

#endif
