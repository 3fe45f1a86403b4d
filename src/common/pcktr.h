/*
 * Shared definitions for every packeteur module: error buffers, container_of, array sizes.
 * Header-only; no module state lives here.
 */
#ifndef PK_PCKTR_H
#define PK_PCKTR_H

#include <errno.h>
#include <stddef.h>

#define PK_ERRBUF_SIZE 512

#ifndef PCKTR_VERSION
#define PCKTR_VERSION "0.0.0"
#endif

/* Exit codes: the contract with scripts and service managers. */
#define PK_EXIT_OK 0
#define PK_EXIT_RUNTIME 1
#define PK_EXIT_CONFIG 2

/** The exit code for a failed start-up step's rc: a bad setting (-EINVAL) is 2, the rest 1. */
static inline int
pk_exit_code(int rc)
{
    return rc == -EINVAL ? PK_EXIT_CONFIG : PK_EXIT_RUNTIME;
}

#define PK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/**
 * Formats a one-line, human-readable error into errbuf (PK_ERRBUF_SIZE bytes, may be NULL)
 * and returns code, so that callers can write `return pk_seterr(errbuf, -EINVAL, ...)`.
 */
int pk_seterr(char *errbuf, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
