/*
 * The Kafka transport's settings (its rows of the configuration table), its endpoint syntax,
 * KAFKA_OPTIONS handed to librdkafka, and its report for /metrics and /status.
 */
#include "endpoint.h"
#include "kafka_int.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(field) offsetof(struct kafka_settings_block, field)

_Static_assert(sizeof(struct kafka_settings_block) <= PK_TRANSPORT_SETTINGS_MAX,
               "the kafka settings fit config.c's block");

const struct pk_setting pk_kafka_settings[PK_KAFKA_NSETTINGS] = {
    {"KAFKA_OPTIONS", PK_SETTING_STRING, S(options), "", 0, 0,
     "kafka: librdkafka properties, name=value,name=value (TLS, SASL, compression.type=zstd); "
     "a value may hold commas (debug=cgrp,fetch)", NULL, PK_TRANSPORT_SENDER},
    {"COLLECT_GROUP", PK_SETTING_STRING, S(group), "pcktr", 0, 0,
     "collect (kafka): consumer group; the collectors of one group split the topic's "
     "partitions, and take over those of a member that leaves", NULL, PK_TRANSPORT_RECEIVER},
    {"COLLECT_START", PK_SETTING_STRING, S(start), "committed", 0, 0,
     "collect (kafka): where a partition is first read: committed (the group's offset; "
     "earliest when it has none), earliest or latest", NULL, PK_TRANSPORT_RECEIVER},
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

static int
parse_start(const char *s, enum kafka_start *out, char *errbuf)
{
    static const char *const names[] = {"committed", "earliest", "latest"};

    for (size_t i = 0; i < PK_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum kafka_start)i;
            return 0;
        }
    return pk_seterr(errbuf, -EINVAL, "COLLECT_START=\"%s\" is invalid; accepted: committed, "
                     "earliest, latest", s);
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
    c->options = s->options;
    c->group = s->group;
    rc = try_client(conf, role, s->options, errbuf);
    conf = NULL; /* taken by rd_kafka_new, or destroyed by try_client */
    if (rc != 0)
        goto out;
    if (role == PK_TRANSPORT_RECEIVER && s->group[0] == '\0')
        rc = pk_seterr(errbuf, -EINVAL, "COLLECT_GROUP=\"\" is invalid; accepted: a group name");
    else if (role == PK_TRANSPORT_RECEIVER)
        rc = parse_start(s->start, &c->start, errbuf);
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

void
pk_kafka_report(struct pk_transport *t, struct pk_transport_report *r)
{
    static const struct pk_transport_stat
        queued = {"packeteur_kafka_producer_queue", "gauge",
                  "Records handed to librdkafka and not yet confirmed by a delivery report.", "",
                  "relay", "kafka_queued", 0},
        delivered = {"packeteur_kafka_delivered_total", "counter",
                     "Records the brokers confirmed (delivery reports without error).", "",
                     "relay", "kafka_delivered", 0},
        failed = {"packeteur_kafka_delivery_errors_total", "counter",
                  "Records whose delivery report was an error (lost: retries are librdkafka's).",
                  "", "relay", "kafka_delivery_errors", 0},
        assigned = {"packeteur_kafka_assigned_partitions", "gauge",
                    "Partitions of the topic assigned to this member of the group.", "",
                    "messages", "kafka_assigned_partitions", 0},
        malformed = {"packeteur_kafka_records_malformed_total", "counter",
                     "Records that are no message of this protocol (no pktr.frame header, a "
                     "value that is no run of pcap records).", "", "messages",
                     "kafka_records_malformed", 0},
        errors = {"packeteur_kafka_consumer_errors_total", "counter",
                  "Errors the consumer reported (fetch failures and the like).", "", "messages",
                  "kafka_consumer_errors", 0};
    const struct kafka *k = (const struct kafka *)t;

    if (k->role == PK_TRANSPORT_SENDER) {
        pk_transport_stat_add(r, &queued, k->inflight);
        pk_transport_stat_add(r, &delivered, k->delivered);
        pk_transport_stat_add(r, &failed, k->delivery_errors);
        return;
    }
    pk_transport_stat_add(r, &assigned, (uint64_t)k->nassigned);
    pk_transport_stat_add(r, &malformed, k->malformed);
    pk_transport_stat_add(r, &errors, k->consumer_errors);
}
