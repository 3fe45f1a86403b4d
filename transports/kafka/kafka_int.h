/*
 * Private to the Kafka transport (kafka.c: the ops, librdkafka's set-up and its queue on the
 * loop, closing; kafka_produce.c: the agent's side; kafka_consume.c: the collector's side).
 * librdkafka runs its own threads; everything here runs on the loop thread: librdkafka
 * writes to an eventfd when its queue (the main queue of a producer, the consumer queue of a
 * consumer) turns non-empty, a uv_poll watches it, and the queue is served with timeout 0.
 */
#ifndef PK_KAFKA_INT_H
#define PK_KAFKA_INT_H

#include "kafka_record.h"
#include "transport.h"

#include <librdkafka/rdkafka.h>

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define KAFKA_SERVE_BUDGET 256 /* events served per wake-up before yielding to the loop */
#define KAFKA_TOPIC_MAX 249    /* Kafka's own limit on a topic name */
#define KAFKA_MAX_PARTITIONS 1024 /* partitions of the topic a collector tracks */

/* Where a collector starts reading a partition it is assigned for the first time. */
enum kafka_start { KAFKA_START_COMMITTED, KAFKA_START_EARLIEST, KAFKA_START_LATEST };

/* The transport's settings, from the endpoint and its own variables. */
struct kafka_settings {
    const char *endpoint; /* kafka://HOST:PORT[,HOST:PORT...]/TOPIC */
    const char *options;  /* KAFKA_OPTIONS: comma-separated librdkafka properties */
    const char *group;    /* COLLECT_GROUP */
    enum kafka_start start;
};

struct kafka {
    struct pk_transport base;
    uv_loop_t *loop;
    enum pk_transport_role role;
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue; /* the one served: main (producer) or consumer queue */
    int efd;                 /* librdkafka writes to it when the queue turns non-empty */
    uv_poll_t poll;
    uv_timer_t again; /* serves the queue again after a budget, or while closing */
    char topic[KAFKA_TOPIC_MAX + 1];
    struct kafka_settings set;
    int up, closing, handles_open;

    /* producer */
    uint64_t queue_limit, inflight; /* records produced and not yet reported */
    int want_writable;
    struct pk_kafka_meta meta;
    uint8_t *scratch; /* a record's value (producer) or a rebuilt message (consumer) */
    size_t scratch_cap;
    uint64_t delivery_errors;

    /* consumer */
    uint64_t max_message;
    int receiving;
    rd_kafka_topic_partition_list_t *pending; /* consumed, not yet released: next offsets */
    uint8_t started[KAFKA_MAX_PARTITIONS];   /* partitions assigned before in this process */
    uint64_t malformed, consumer_errors;

    /* closing */
    uint64_t linger_deadline;
    pk_transport_closed_cb closed_cb;
    void *closed_data;
    int flushed;
    uv_work_t destroy_work;
};

/** Serves the queue again on the loop's next turn (it signals only when it turns non-empty). */
void pk_kafka_serve_later(struct kafka *k);

/** Grows k->scratch to at least len bytes. 0 or -ENOMEM. */
int pk_kafka_scratch(struct kafka *k, size_t len);

/** Producer: its conf callbacks; one send; serving one event. */
void pk_kafka_produce_conf(rd_kafka_conf_t *conf);
int pk_kafka_produce(struct kafka *k, const void *buf, size_t len);
void pk_kafka_produce_serve(struct kafka *k);

/** Consumer: its conf callbacks; subscribing; serving; resuming; offsets of what was released. */
void pk_kafka_consume_conf(rd_kafka_conf_t *conf);
int pk_kafka_consume_start(struct kafka *k, char *errbuf);
void pk_kafka_consume_serve(struct kafka *k);
void pk_kafka_consume_released(struct kafka *k);

#endif
