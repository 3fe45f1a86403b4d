/*
 * The Kafka transport's settings (its rows of the configuration table), its endpoint syntax,
 * KAFKA_OPTIONS handed to librdkafka, COLLECT_START and COLLECT_STOP.
 */
#include "endpoint.h"
#include "kafka_int.h"
#include "pcktr.h"
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S(field) offsetof(struct kafka_settings_block, field)

_Static_assert(sizeof(struct kafka_settings_block) <= PK_TRANSPORT_SETTINGS_MAX,
               "the kafka settings fit config.c's block");

const struct pk_setting pk_kafka_settings[PK_KAFKA_NSETTINGS] = {
    {"KAFKA_OPTIONS", PK_SETTING_STRING, S(options), "", 0, 0,
     "kafka: librdkafka properties, name=value,name=value (TLS, SASL, compression.type=zstd); "
     "a value may hold commas (debug=cgrp,fetch)",
     NULL, PK_TRANSPORT_SENDER},
    {"COLLECT_GROUP", PK_SETTING_STRING, S(group), "pcktr", 0, 0,
     "collect (kafka): consumer group; the collectors of one group split the topic's "
     "partitions, and take over those of a member that leaves",
     NULL, PK_TRANSPORT_RECEIVER},
    {"COLLECT_START", PK_SETTING_STRING, S(start), "committed", 0, 0,
     "collect (kafka): where a partition is first read: committed (the group's offset; "
     "earliest when it has none), earliest, latest, an RFC 3339 time (2026-12-02T10:00:00Z) or "
     "-DURATION (-1h): the records captured from then on",
     NULL, PK_TRANSPORT_RECEIVER},
    {"COLLECT_STOP", PK_SETTING_STRING, S(stop), "", 0, 0,
     "collect (kafka): an RFC 3339 time or now (the start): write the records captured until "
     "then, read every assigned partition to its end, exit 0; empty: run until stopped",
     NULL, PK_TRANSPORT_RECEIVER},
};

#undef S

int
pk_kafka_parse_uri(const char *uri, char *brokers, size_t cap, char *topic, char *errbuf)
{
    const char *p = uri + strlen("kafka://"), *slash;
    size_t n;

    if (strncmp(uri, "kafka://", strlen("kafka://")) != 0 || (slash = strchr(p, '/')) == NULL ||
        slash == p || (size_t)(slash - p) >= cap)
        return pk_seterr(errbuf, -EINVAL, "accepted: kafka://HOST:PORT[,HOST:PORT...]/TOPIC");
    n = strlen(slash + 1);
    if (n == 0 || n > KAFKA_TOPIC_MAX ||
        strspn(slash + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
        return pk_seterr(errbuf, -EINVAL, "the topic must be 1 to %d of [a-zA-Z0-9._-]",
                         KAFKA_TOPIC_MAX);
    memcpy(brokers, p, (size_t)(slash - p));
    brokers[slash - p] = '\0';
    memcpy(topic, slash + 1, n + 1);
    return 0;
}

/* The first broker stands for the endpoint in the core (resolved, kept out of the capture). */
int
pk_kafka_parse_endpoint(const char *uri, struct pk_endpoint *ep, char *errbuf)
{
    char brokers[1024], topic[KAFKA_TOPIC_MAX + 1], first[1100];
    size_t n;

    if (pk_kafka_parse_uri(uri, brokers, sizeof(brokers), topic, errbuf) != 0)
        return -EINVAL;
    n = strcspn(brokers, ",");
    snprintf(first, sizeof(first), "tcp://%.*s", (int)n, brokers);
    if (pk_endpoint_parse(first, ep, errbuf) != 0 || ep->host[0] == '\0')
        return pk_seterr(errbuf, -EINVAL, "accepted: kafka://HOST:PORT[,HOST:PORT...]/TOPIC");
    return 0;
}

/* "not (tcp and ((host H and port P) or ...))" for every broker of the endpoint. */
void
pk_kafka_capture_exclusion(const char *uri, char *buf, size_t len)
{
    char brokers[1024], topic[KAFKA_TOPIC_MAX + 1], item[300], *save = NULL;
    size_t used;
    int n = 0;

    buf[0] = '\0';
    if (pk_kafka_parse_uri(uri, brokers, sizeof(brokers), topic, NULL) != 0)
        return;
    used = (size_t)snprintf(buf, len, "not (tcp and (");
    for (char *b = strtok_r(brokers, ",", &save); b != NULL && used < len;
         b = strtok_r(NULL, ",", &save)) {
        struct pk_endpoint ep;
        snprintf(item, sizeof(item), "tcp://%s", b);
        if (pk_endpoint_parse(item, &ep, NULL) != 0 || ep.host[0] == '\0')
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s(host %s and port %u)",
                                 n++ ? " or " : "", ep.host, ep.port);
    }
    if (used < len)
        snprintf(buf + used, len - used, "))");
    if (n == 0 || used >= len)
        buf[0] = '\0';
}

int
pk_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, const char *var,
                  char *errbuf)
{
    char why[256];

    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK)
        return pk_seterr(errbuf, -EINVAL, "%s: librdkafka refuses %s=%s: %s", var, name, value,
                         why);
    return 0;
}

/* Where an item of KAFKA_OPTIONS ends: at the first comma followed by a name=: a value may hold
 * commas (debug=cgrp,fetch; a cipher list). NULL: at the end. */
static const char *
item_end(const char *p)
{
    const char *c = p;

    while ((c = strchr(c, ',')) != NULL) {
        size_t seg = strcspn(c + 1, ",");

        if (memchr(c + 1, '=', seg) != NULL)
            return c;
        c++;
    }
    return NULL;
}

int
pk_kafka_set_options(rd_kafka_conf_t *conf, const char *options, char *errbuf)
{
    char item[1024], var[1100];
    const char *p = options;

    while (p != NULL && *p != '\0') {
        const char *end = item_end(p);
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *eq;
        int rc;

        if (n >= sizeof(item))
            return pk_seterr(errbuf, -EINVAL, "KAFKA_OPTIONS=\"%s\": an item is over %zu bytes",
                             options, sizeof(item) - 1);
        memcpy(item, p, n);
        item[n] = '\0';
        if ((eq = strchr(item, '=')) == NULL || eq == item)
            return pk_seterr(errbuf, -EINVAL,
                             "KAFKA_OPTIONS=\"%s\" is invalid (\"%s\" is not name=value); "
                             "accepted: librdkafka properties, name=value,name=value",
                             options, item);
        *eq = '\0';
        snprintf(var, sizeof(var), "KAFKA_OPTIONS=\"%s\"", options);
        if ((rc = pk_kafka_conf_set(conf, item, eq + 1, var, errbuf)) != 0)
            return rc;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* "2026-12-02T10:00:00Z", "2026-12-02T10:00:00.250+01:00": ms since the epoch, or -1. */
static int64_t
parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, n = 0, oh, om;
    int64_t ms = 0, t;
    const char *p;

    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19)
        return -1;
    p = s + n;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
    if ((t = (int64_t)timegm(&tm)) < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return -1;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return t * 1000 + ms;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && n == 5 &&
        p[6] == '\0' && oh < 24 && om < 60)
        return (t + (*p == '+' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60)) * 1000 + ms;
    return -1;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse_start(const char *s, struct pk_transport_config *c, char *errbuf)
{
    static const char *const names[] = {"committed", "earliest", "latest"};
    uint64_t ago;

    for (size_t i = 0; i < PK_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0) {
            c->start = (enum kafka_start)i;
            return 0;
        }
    c->start = KAFKA_START_TIME;
    if (s[0] == '-' && pk_parse_duration_ms(s + 1, &ago) == 0 && (int64_t)ago < now_ms())
        c->start_ms = now_ms() - (int64_t)ago;
    else if ((c->start_ms = parse_rfc3339(s)) < 0)
        return pk_seterr(errbuf, -EINVAL,
                         "COLLECT_START=\"%s\" is invalid; accepted: committed, "
                         "earliest, latest, an RFC 3339 time (2026-12-02T10:00:00Z) or "
                         "-DURATION (-1h, -30m)",
                         s);
    return 0;
}

static int
parse_stop(const char *s, struct pk_transport_config *c, char *errbuf)
{
    if (s[0] == '\0')
        return 0;
    c->stop_ms = strcmp(s, "now") == 0 ? now_ms() : parse_rfc3339(s);
    if (c->stop_ms <= 0)
        return pk_seterr(errbuf, -EINVAL,
                         "COLLECT_STOP=\"%s\" is invalid; accepted: now, an "
                         "RFC 3339 time (2026-12-02T10:05:00Z), or empty",
                         s);
    if (c->start_ms > 0 && c->stop_ms < c->start_ms)
        return pk_seterr(errbuf, -EINVAL, "COLLECT_STOP=\"%s\" is before COLLECT_START", s);
    return 0;
}

static void
on_quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

/* A handle made from the role's defaults and KAFKA_OPTIONS, then destroyed: librdkafka checks
 * that properties agree only there (acks=1 with the idempotent producer, say). */
static int
try_client(rd_kafka_conf_t *conf, enum pk_transport_role role, const char *options, char *errbuf)
{
    char why[512];
    rd_kafka_t *rk;

    rd_kafka_conf_set_log_cb(conf, on_quiet_log);
    if (role == PK_TRANSPORT_SENDER)
        pk_kafka_produce_conf(conf);
    else
        pk_kafka_consume_conf(conf);
    if (pk_kafka_set_options(conf, options, errbuf) != 0) {
        rd_kafka_conf_destroy(conf);
        return -EINVAL;
    }
    rk = rd_kafka_new(role == PK_TRANSPORT_SENDER ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf,
                      why, sizeof(why));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return pk_seterr(errbuf, -EINVAL, "KAFKA_OPTIONS=\"%s\" is invalid: librdkafka: %s",
                         options, why);
    }
    rd_kafka_destroy(rk); /* it took conf */
    return 0;
}

/* KAFKA_OPTIONS is tried on a client of its own, so that a bad property exits 2. */
int
pk_kafka_configure(const void *settings, enum pk_transport_role role,
                   struct pk_transport_config **out, char *errbuf)
{
    const struct kafka_settings_block *s = settings;
    struct pk_transport_config *c = calloc(1, sizeof(*c));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = 0;

    *out = NULL;
    if (c == NULL || conf == NULL) {
        rc = pk_seterr(errbuf, -ENOMEM, "out of memory");
        goto out;
    }
    c->role = role;
    c->options = s->options;
    c->group = s->group;
    rc = try_client(conf, role, s->options, errbuf);
    conf = NULL; /* taken by rd_kafka_new, or destroyed by try_client */
    if (rc != 0)
        goto out;
    if (role == PK_TRANSPORT_RECEIVER && s->group[0] == '\0')
        rc = pk_seterr(errbuf, -EINVAL, "COLLECT_GROUP=\"\" is invalid; accepted: a group name");
    else if (role == PK_TRANSPORT_RECEIVER && (rc = parse_start(s->start, c, errbuf)) == 0)
        rc = parse_stop(s->stop, c, errbuf);
out:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    if (rc == 0)
        *out = c;
    else
        free(c);
    return rc;
}

void
pk_kafka_config_free(struct pk_transport_config *config)
{
    free(config);
}
