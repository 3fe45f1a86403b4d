/*
 * The Kafka transport (RELAY_TRANSPORT=kafka): agents produce one record per message into a
 * topic, collectors consume it as members of a consumer group (docs/KAFKA.md). This file holds
 * the ops, the endpoint and KAFKA_OPTIONS, librdkafka's queue on the loop and closing; the
 * sides are in kafka_produce.c and kafka_consume.c. Loop thread, except destroy_in_thread.
 */
#define PK_LOG_MODULE "kafka"
#include "kafka_int.h"
#include "endpoint.h"
#include "log.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CLOSE_POLL_MS 10

static const uint64_t event_payload = 1; /* what librdkafka writes to the eventfd */

int
pk_kafka_scratch(struct kafka *k, size_t len)
{
    uint8_t *p;

    if (len <= k->scratch_cap)
        return 0;
    if ((p = realloc(k->scratch, len)) == NULL)
        return -ENOMEM;
    k->scratch = p;
    k->scratch_cap = len;
    return 0;
}

/* "kafka://HOST:PORT[,HOST:PORT...]/TOPIC" into brokers and k->topic. */
static int
parse_endpoint(struct kafka *k, const char *s, char *brokers, size_t cap, char *errbuf)
{
    const char *p = s + strlen("kafka://"), *slash;
    size_t n;

    if (strncmp(s, "kafka://", strlen("kafka://")) != 0 || (slash = strchr(p, '/')) == NULL ||
        slash == p || (size_t)(slash - p) >= cap)
        return pk_seterr(errbuf, -EINVAL, "not kafka://HOST:PORT[,HOST:PORT...]/TOPIC");
    n = strlen(slash + 1);
    if (n == 0 || n > KAFKA_TOPIC_MAX || strspn(slash + 1, "abcdefghijklmnopqrstuvwxyz"
                                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                           "0123456789._-") != n)
        return pk_seterr(errbuf, -EINVAL, "the topic must be 1..%d of [a-zA-Z0-9._-]",
                         KAFKA_TOPIC_MAX);
    memcpy(brokers, p, (size_t)(slash - p));
    brokers[slash - p] = '\0';
    memcpy(k->topic, slash + 1, n + 1);
    return 0;
}

static int
conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, const char *var,
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
        const char *eq = memchr(c + 1, '=', seg);

        if (eq != NULL)
            return c;
        c++;
    }
    return NULL;
}

/* KAFKA_OPTIONS: "name=value,name=value", each handed to librdkafka as it is. */
static int
set_options(rd_kafka_conf_t *conf, const char *options, char *errbuf)
{
    char item[1024];
    const char *p = options;

    while (p != NULL && *p != '\0') {
        const char *end = item_end(p);
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *eq;
        int rc;

        if (n >= sizeof(item))
            return pk_seterr(errbuf, -EINVAL, "KAFKA_OPTIONS: an item is over %zu bytes",
                             sizeof(item) - 1);
        memcpy(item, p, n);
        item[n] = '\0';
        if ((eq = strchr(item, '=')) == NULL || eq == item)
            return pk_seterr(errbuf, -EINVAL, "KAFKA_OPTIONS: \"%s\" is not name=value", item);
        *eq = '\0';
        if ((rc = conf_set(conf, item, eq + 1, "KAFKA_OPTIONS", errbuf)) != 0)
            return rc;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* librdkafka's logs, served on the loop thread (log.queue): rate-limited as one event. */
static void
on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level > 4) /* debug (KAFKA_OPTIONS=debug=...) is asked for: not rate-limited */
        pk_debug("librdkafka %s: %s", fac, buf);
    else
        pk_log_with(level <= 3 ? PK_LOG_ERROR : PK_LOG_WARN,
                    &(struct pk_log_fields){.event = "kafka_log"}, "librdkafka %s: %s", fac, buf);
}

static void
on_rdkafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct kafka *k = opaque;

    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && k->up) {
        k->up = 0;
        if (k->base.on_peer != NULL && !k->closing)
            k->base.on_peer(&k->base, PK_PEER_DOWN, "");
    }
    pk_log_with(PK_LOG_WARN, &(struct pk_log_fields){.event = "kafka_error"}, "Kafka: %s",
                reason);
}

static int
make_conf(struct kafka *k, const struct pk_transport_opts *opts, rd_kafka_conf_t **out,
          char *errbuf)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char brokers[1024];
    int rc;

    if (conf == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
    rd_kafka_conf_set_error_cb(conf, on_rdkafka_error);
    if ((rc = parse_endpoint(k, k->set.endpoint, brokers, sizeof(brokers), errbuf)) != 0 ||
        (rc = conf_set(conf, "bootstrap.servers", brokers, "endpoint", errbuf)) != 0 ||
        (rc = conf_set(conf, "log.queue", "true", "", errbuf)) != 0)
        goto fail;
    if (opts->role == PK_TRANSPORT_SENDER)
        pk_kafka_produce_conf(conf);
    else
        pk_kafka_consume_conf(conf);
    if (opts->role == PK_TRANSPORT_RECEIVER &&
        (rc = conf_set(conf, "group.id", k->set.group, "COLLECT_GROUP", errbuf)) != 0)
        goto fail;
    if ((rc = set_options(conf, k->set.options, errbuf)) != 0)
        goto fail;
    *out = conf;
    return 0;
fail:
    rd_kafka_conf_destroy(conf);
    return rc;
}

static void
serve(struct kafka *k)
{
    if (k->role == PK_TRANSPORT_SENDER)
        pk_kafka_produce_serve(k);
    else
        pk_kafka_consume_serve(k);
}

static void
on_event_fd(uv_poll_t *h, int status, int events)
{
    struct kafka *k = container_of(h, struct kafka, poll);
    uint64_t v;

    (void)status;
    (void)events;
    while (read(k->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
    serve(k);
}

static void
on_again(uv_timer_t *h)
{
    serve(container_of(h, struct kafka, again));
}

void
pk_kafka_serve_later(struct kafka *k)
{
    if (!k->closing)
        uv_timer_start(&k->again, on_again, 0, 0);
}

/* librdkafka handle, its queue on the loop; the side's own start. */
static int
start_client(struct kafka *k, rd_kafka_conf_t *conf, char *errbuf)
{
    char why[512];
    int rc;

    k->rk = rd_kafka_new(k->role == PK_TRANSPORT_SENDER ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER,
                         conf, why, sizeof(why));
    if (k->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return pk_seterr(errbuf, -EINVAL, "librdkafka: %s", why);
    }
    rd_kafka_set_log_queue(k->rk, NULL); /* the main queue: served on the loop */
    if (k->role == PK_TRANSPORT_RECEIVER)
        rd_kafka_poll_set_consumer(k->rk);
    k->queue = k->role == PK_TRANSPORT_SENDER ? rd_kafka_queue_get_main(k->rk)
                                              : rd_kafka_queue_get_consumer(k->rk);
    if (k->queue == NULL)
        return pk_seterr(errbuf, -ENOMEM, "librdkafka: no queue");
    if ((rc = uv_poll_init(k->loop, &k->poll, k->efd)) != 0)
        return pk_seterr(errbuf, rc, "uv_poll_init: %s", uv_strerror(rc));
    k->handles_open++;
    if ((rc = uv_timer_init(k->loop, &k->again)) != 0)
        return pk_seterr(errbuf, rc, "uv_timer_init: %s", uv_strerror(rc));
    k->handles_open++;
    rd_kafka_queue_io_event_enable(k->queue, k->efd, &event_payload, sizeof(event_payload));
    if ((rc = uv_poll_start(&k->poll, UV_READABLE, on_event_fd)) != 0)
        return pk_seterr(errbuf, rc, "uv_poll_start: %s", uv_strerror(rc));
    if (k->role == PK_TRANSPORT_RECEIVER && (rc = pk_kafka_consume_start(k, errbuf)) != 0)
        return rc;
    uv_timer_start(&k->again, on_again, 0, 0); /* what was queued before the io event */
    return 0;
}

static void close_now(struct kafka *k);
extern const struct pk_transport_ops pk_transport_kafka;

static struct pk_transport *
kafka_open_with(uv_loop_t *loop, const struct kafka_settings *set,
                const struct pk_transport_opts *opts, char *errbuf)
{
    struct kafka *k = calloc(1, sizeof(*k));
    rd_kafka_conf_t *conf;

    if (k == NULL) {
        pk_seterr(errbuf, -ENOMEM, "out of memory");
        return NULL;
    }
    k->base.ops = &pk_transport_kafka;
    k->loop = loop;
    k->role = opts->role;
    k->set = *set;
    k->queue_limit = opts->queue_limit ? opts->queue_limit : 1;
    k->max_message = opts->max_message;
    k->receiving = 1;
    if ((k->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        pk_seterr(errbuf, -errno, "eventfd: %s", strerror(errno));
        free(k);
        return NULL;
    }
    if (make_conf(k, opts, &conf, errbuf) != 0 || start_client(k, conf, errbuf) != 0) {
        close_now(k);
        return NULL;
    }
    return &k->base;
}

static int
kafka_send(struct pk_transport *t, const void *buf, size_t len)
{
    return pk_kafka_produce(container_of(t, struct kafka, base), buf, len);
}

static void
kafka_set_receiving(struct pk_transport *t, int on)
{
    struct kafka *k = container_of(t, struct kafka, base);

    k->receiving = on;
    if (on && !k->closing)
        uv_timer_start(&k->again, on_again, 0, 0); /* the queue does not signal again */
}

static int
kafka_connected(struct pk_transport *t)
{
    return container_of(t, struct kafka, base)->up;
}

static void
kafka_released(struct pk_transport *t)
{
    struct kafka *k = container_of(t, struct kafka, base);

    if (k->role == PK_TRANSPORT_RECEIVER && !k->closing)
        pk_kafka_consume_released(k);
}

/* Frees k once its handles are closed and librdkafka is destroyed. */
static void
maybe_free(struct kafka *k)
{
    if (k->handles_open > 0 || k->rk != NULL)
        return;
    if (k->closed_cb != NULL)
        k->closed_cb(k->closed_data, k->flushed);
    if (k->pending != NULL)
        rd_kafka_topic_partition_list_destroy(k->pending);
    close(k->efd);
    free(k->scratch);
    free(k);
}

static void
on_handle_closed(uv_handle_t *h)
{
    struct kafka *k = h->data;

    k->handles_open--;
    maybe_free(k);
}

/* rd_kafka_consumer_close (a last commit, leaving the group) and rd_kafka_destroy block. */
static void
destroy_in_thread(uv_work_t *w)
{
    struct kafka *k = container_of(w, struct kafka, destroy_work);

    if (k->role == PK_TRANSPORT_RECEIVER)
        rd_kafka_consumer_close(k->rk);
    rd_kafka_destroy(k->rk);
}

static void
on_destroyed(uv_work_t *w, int status)
{
    struct kafka *k = container_of(w, struct kafka, destroy_work);

    (void)status;
    k->rk = NULL;
    maybe_free(k);
}

static void
close_now(struct kafka *k)
{
    k->closing = 1;
    if (k->queue != NULL) {
        rd_kafka_queue_io_event_enable(k->queue, -1, NULL, 0);
        rd_kafka_queue_destroy(k->queue);
        k->queue = NULL;
    }
    k->poll.data = k->again.data = k;
    if (k->handles_open >= 1)
        uv_close((uv_handle_t *)&k->poll, on_handle_closed);
    if (k->handles_open >= 2)
        uv_close((uv_handle_t *)&k->again, on_handle_closed);
    if (k->rk != NULL && uv_queue_work(k->loop, &k->destroy_work, destroy_in_thread,
                                       on_destroyed) != 0) {
        destroy_in_thread(&k->destroy_work); /* cannot happen with a valid loop */
        k->rk = NULL;
    }
    maybe_free(k);
}

/* The producer's linger: served until everything is reported or the deadline. */
static void
on_linger(uv_timer_t *h)
{
    struct kafka *k = container_of(h, struct kafka, again);

    pk_kafka_produce_serve(k);
    if (rd_kafka_outq_len(k->rk) == 0) {
        k->flushed = k->delivery_errors == 0;
        close_now(k);
    } else if (uv_now(k->loop) >= k->linger_deadline) {
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        pk_kafka_produce_serve(k); /* the purged records' reports count them */
        k->flushed = 0;
        close_now(k);
    } else {
        uv_timer_start(&k->again, on_linger, CLOSE_POLL_MS, 0);
    }
}

static void
kafka_close(struct pk_transport *t, uint64_t linger_ms, pk_transport_closed_cb cb, void *data)
{
    struct kafka *k = container_of(t, struct kafka, base);

    k->closed_cb = cb;
    k->closed_data = data;
    k->flushed = 1;
    if (k->role == PK_TRANSPORT_RECEIVER) {
        close_now(k);
        return;
    }
    k->closing = 1; /* no more on_writable; reports are still counted */
    k->linger_deadline = uv_now(k->loop) + linger_ms;
    uv_timer_start(&k->again, on_linger, 0, 0);
}

/* The first broker stands for the endpoint in the core (resolved, kept out of the capture). */
static int
kafka_parse_endpoint(const char *uri, struct pk_endpoint *ep, char *errbuf)
{
    struct kafka k;
    char brokers[1024], first[1100];
    size_t n;

    if (parse_endpoint(&k, uri, brokers, sizeof(brokers), errbuf) != 0)
        return -EINVAL;
    n = strcspn(brokers, ",");
    snprintf(first, sizeof(first), "tcp://%.*s", (int)n, brokers);
    if (pk_endpoint_parse(first, ep, errbuf) != 0 || ep->host[0] == '\0')
        return pk_seterr(errbuf, -EINVAL, "not kafka://HOST:PORT[,HOST:PORT...]/TOPIC");
    return 0;
}

static int
parse_start(const char *s, enum kafka_start *out)
{
    static const char *const names[] = {"committed", "earliest", "latest"};

    for (size_t i = 0; i < PK_ARRAY_LEN(names); i++)
        if (s != NULL && strcmp(s, names[i]) == 0) {
            *out = (enum kafka_start)i;
            return 0;
        }
    return -EINVAL;
}

static struct pk_transport *
kafka_open(uv_loop_t *loop, const struct pk_endpoint *ep, const struct pk_transport_opts *opts,
           char *errbuf)
{
    struct kafka_settings set = {.endpoint = opts->uri, .options = opts->kafka_options,
                                 .group = opts->kafka_group ? opts->kafka_group : "pcktr"};

    (void)ep;
    if (opts->role == PK_TRANSPORT_RECEIVER && opts->kafka_start != NULL &&
        parse_start(opts->kafka_start, &set.start) != 0) {
        pk_seterr(errbuf, -EINVAL, "COLLECT_START=\"%s\" is invalid; accepted: committed, "
                  "earliest, latest", opts->kafka_start);
        return NULL;
    }
    return kafka_open_with(loop, &set, opts, errbuf);
}

const struct pk_transport_ops pk_transport_kafka = {
    .name = "kafka",
    .per_connection_peers = 0, /* a partition carries many sources and never closes */
    .encrypts = 0,             /* TLS and SASL are librdkafka's, through KAFKA_OPTIONS */
    .parse_endpoint = kafka_parse_endpoint,
    .open = kafka_open,
    .send = kafka_send,
    .set_receiving = kafka_set_receiving,
    .connected = kafka_connected,
    .released = kafka_released,
    .close = kafka_close,
};
