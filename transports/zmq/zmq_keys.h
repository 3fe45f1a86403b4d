/*
 * Private to the zmq transport: its settings (rows of the configuration table, zmq_config.c),
 * and its CURVE keys: reading them from those settings (a Z85 value, or a file such as
 * `pcktr keygen` writes), deriving public keys, the collector's allow-list file, and keygen
 * itself. Every error names the variable and, for files, the line.
 */
#ifndef PK_ZMQ_KEYS_H
#define PK_ZMQ_KEYS_H

#include "access.h"
#include "transport.h"

#include <stdint.h>
#include <stdio.h>

/* The zmq rows of the configuration table, parsed by config.c (strings borrow from the
 * environment, "" when unset). */
struct zmq_settings {
    uint64_t max_message; /* COLLECT_MAX_MESSAGE: the largest message taken */
    uint64_t max_peers;   /* COLLECT_MAX_PEERS: connections at once */
    const char *collect_curve_secretkey, *collect_curve_allowed;
    const char *relay_curve_serverkey, *relay_curve_secretkey, *relay_curve_publickey;
    const char *control_endpoint; /* ZMQ_CONTROL_ENDPOINT: "" is the endpoint's port + 1 */
};

struct pk_curve_keys {
    int enabled;                              /* any CURVE key is set: the relay is encrypted */
    char server_public[PK_KEY_Z85_LEN + 1];   /* the collector's (agent: from the config) */
    char public_key[PK_KEY_Z85_LEN + 1];      /* this side's own */
    char secret_key[PK_KEY_Z85_LEN + 1];      /* this side's own */
    char (*allowed)[PK_KEY_Z85_LEN + 1];      /* collector: COLLECT_CURVE_ALLOWED; NULL: any */
    size_t nallowed;
    int ephemeral; /* agent: no secret key configured, a pair was made for this run */
};

/* The zmq transport's config (transport.h): its settings and the keys read from them. */
struct pk_transport_config {
    enum pk_transport_role role;
    struct zmq_settings s;
    struct pk_curve_keys keys;
};

/**
 * Fills k from the CURVE variables of s for role, reading key files. 0, or -EINVAL with
 * one line in errbuf (the caller exits 2), or another negative errno for a file that cannot
 * be read.
 */
int pk_keys_load(const struct zmq_settings *s, enum pk_transport_role role,
                 struct pk_curve_keys *k, char *errbuf);

/**
 * Collector: reads the COLLECT_CURVE_ALLOWED file at path again. On success the new list
 * replaces k->allowed (the old array is freed: whoever pointed at it must take the new one) and
 * 0 is returned; on any error k is untouched and errbuf says why.
 */
int pk_keys_reload_allowed(const char *path, struct pk_curve_keys *k, char *errbuf);

void pk_keys_free(struct pk_curve_keys *k);

/**
 * Parses one key from `text`: a bare Z85 key, or "public-key: KEY" / "secret-key: KEY" lines.
 * want is "public-key" or "secret-key". 0 and out filled, or -EINVAL with why in errbuf.
 */
int pk_keys_parse_text(const char *text, const char *want, char out[PK_KEY_Z85_LEN + 1],
                       char *errbuf);

/** `pcktr keygen`: writes a new key pair, public and secret, one labelled line each, to out,
 *  and to stderr what to do with them. */
int pk_keygen(FILE *out, char *errbuf);

#endif
