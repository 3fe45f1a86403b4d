/*
 * The Kafka transport (RELAY_TRANSPORT=kafka): agents produce one record per message into a
 * topic, collectors consume it as members of a consumer group (docs/KAFKA.md). This file holds
 * the ops, the endpoint and KAFKA_OPTIONS, librdkafka's queue on the loop and closing; the
 * sides are in kafka_produce.c and kafka_consume.c. Loop thread, except destroy_in_thread.
 */
#define PK_LOG_MODULE "kafka"
#include "endpoint.h"
#include "kafka_int.h"
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
            k->base.on_peer(&k->base, PK_PEER_DOWN, "", "");
    }
    pk_log_with(PK_LOG_WARN, &(struct pk_log_fields){.event = "kafka_error"}, "Kafka: %s", reason);
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
    if ((rc = pk_kafka_parse_uri(k->set.endpoint, brokers, sizeof(brokers), k->topic, errbuf)) !=
            0 ||
        (rc = pk_kafka_conf_set(conf, "bootstrap.servers", brokers, "the endpoint", errbuf)) != 0 ||
        (rc = pk_kafka_conf_set(conf, "log.queue", "true", "", errbuf)) != 0)
        goto fail;
    if (opts->role == PK_TRANSPORT_SENDER)
        pk_kafka_produce_conf(conf);
    else
        pk_kafka_consume_conf(conf);
    if (opts->role == PK_TRANSPORT_RECEIVER &&
        (rc = pk_kafka_conf_set(conf, "group.id", k->set.group, "COLLECT_GROUP", errbuf)) != 0)
        goto fail;
    if (k->set.stop_ms > 0 &&
        (rc = pk_kafka_conf_set(conf, "enable.partition.eof", "true", "COLLECT_STOP", errbuf)) != 0)
        goto fail;
    if ((rc = pk_kafka_set_options(conf, k->set.options, errbuf)) != 0)
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
pk_kafka_serve_in(struct kafka *k, uint64_t ms)
{
    if (!k->closing)
        uv_timer_start(&k->again, on_again, ms, 0);
}

void
pk_kafka_serve_later(struct kafka *k)
{
    pk_kafka_serve_in(k, 0);
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

static int
kafka_open(struct pk_transport **out, uv_loop_t *loop, const struct pk_endpoint *ep,
           const struct pk_transport_opts *opts, char *errbuf)
{
    struct kafka *k = calloc(1, sizeof(*k));
    rd_kafka_conf_t *conf;
    int rc;

    (void)ep; /* the core's stand-in for the first broker; opts->uri names them all */
    if (k == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    k->base.ops = &pk_transport_kafka;
    k->loop = loop;
    k->role = opts->role;
    k->set = (struct kafka_settings){.endpoint = opts->uri,
                                     .options = opts->config->options,
                                     .group = opts->config->group,
                                     .start = opts->config->start,
                                     .start_ms = opts->config->start_ms,
                                     .stop_ms = opts->config->stop_ms};
    k->queue_limit = opts->queue_limit ? opts->queue_limit : 1;
    k->max_message = opts->max_message;
    k->receiving = 1;
    if ((k->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        rc = pk_seterr(errbuf, -errno, "eventfd: %s", strerror(errno));
        free(k);
        return rc;
    }
    if ((rc = make_conf(k, opts, &conf, errbuf)) != 0 ||
        (rc = start_client(k, conf, errbuf)) != 0) {
        close_now(k);
        return rc;
    }
    *out = &k->base;
    return 0;
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
    if (k->rk != NULL &&
        uv_queue_work(k->loop, &k->destroy_work, destroy_in_thread, on_destroyed) != 0) {
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

const struct pk_transport_ops pk_transport_kafka = {
    .name = "kafka",
    .per_connection_peers = 0, /* a partition carries many sources and never closes */
    .confirms_delivery = 1,    /* relayed counts what a delivery report confirmed */
    .parse_endpoint = pk_kafka_parse_endpoint,
    .capture_exclusion = pk_kafka_capture_exclusion,
    .settings = pk_kafka_settings,
    .nsettings = PK_KAFKA_NSETTINGS,
    .settings_size = sizeof(struct kafka_settings_block),
    .configure = pk_kafka_configure,
    .config_free = pk_kafka_config_free,
    .log_security = pk_kafka_log_security,
    .open = kafka_open,
    .send = kafka_send,
    .set_receiving = kafka_set_receiving,
    .connected = kafka_connected,
    .report = pk_kafka_report,
    .released = kafka_released,
    .close = kafka_close,
};
