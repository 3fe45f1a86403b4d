/*
 * The routes both modes serve (/metrics, /status, the status page), rendered from a snapshot
 * that the owner fills at request time through a callback. One table for agent and collector:
 * the owner says which report it fills. Loop thread only.
 */
#ifndef PK_REPORTS_H
#define PK_REPORTS_H

#include "report.h"

#include <stddef.h>
#include <uv.h>

struct pk_endpoint;
struct pk_http;

enum pk_report_kind { PK_REPORT_CAPTURE, PK_REPORT_COLLECT };

/* A snapshot of either mode; kind (the reporter's) says which member is filled. */
union pk_report {
    struct pk_capture_report capture;
    struct pk_collect_report collect;
};

/** Fills the member of *r (zeroed before the call) that the reporter's kind names. */
typedef void (*pk_report_fill_cb)(void *data, union pk_report *r);

/* Embedded in its owner, which it must outlive the HTTP server of (until pk_http_free). */
struct pk_reporter {
    enum pk_report_kind kind;
    pk_report_fill_cb fill;
    void *data; /* the owner's; passed to fill */
};

/**
 * Starts the HTTP server on ep with the routes of a mode, rendered from rep (borrowed until
 * pk_http_free). Returns what pk_http_start returns.
 */
int pk_reports_start(struct pk_http **out, uv_loop_t *loop, const struct pk_endpoint *ep,
                     const char *what, struct pk_reporter *rep, char *errbuf);

#endif
