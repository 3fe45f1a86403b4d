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

struct pk_endpoint;

#include <librdkafka/rdkafka.h>

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define KAFKA_SERVE_BUDGET 256    /* events served per wake-up before yielding to the loop */
#define KAFKA_TOPIC_MAX 249       /* Kafka's own limit on a topic name */
#define KAFKA_MAX_PARTITIONS 1024 /* partitions of the topic a collector tracks */

/* Where a collector starts reading a partition it is assigned for the first time. */
enum kafka_start {
    KAFKA_START_COMMITTED,
    KAFKA_START_EARLIEST,
    KAFKA_START_LATEST,
    KAFKA_START_TIME
};

/* Its rows of the configuration table (kafka_config.c), parsed by the core into this block. */
struct kafka_settings_block {
    const char *options; /* KAFKA_OPTIONS */
    const char *group;   /* COLLECT_GROUP */
    const char *start;   /* COLLECT_START */
    const char *stop;    /* COLLECT_STOP */
};

/* What configure() makes of them: checked, for open. */
struct pk_transport_config {
    enum pk_transport_role role;
    const char *options, *group;
    enum kafka_start start;
    int64_t start_ms,
        stop_ms; /* record times (ms since the epoch) to start at, stop after; 0: none */
};

#define PK_KAFKA_NSETTINGS 4
extern const struct pk_setting pk_kafka_settings[PK_KAFKA_NSETTINGS];

/** The ops of kafka_config.c (the endpoint, the settings) and kafka_report.c. */
int pk_kafka_parse_endpoint(const char *uri, struct pk_endpoint *ep, char *errbuf);
void pk_kafka_capture_exclusion(const char *uri, char *buf, size_t len);
int pk_kafka_configure(const void *settings, enum pk_transport_role role,
                       struct pk_transport_config **out, char *errbuf);
void pk_kafka_config_free(struct pk_transport_config *config);
void pk_kafka_log_security(const struct pk_transport_config *config);
void pk_kafka_report(struct pk_transport *t, struct pk_transport_report *r);

/** "kafka://HOST:PORT[,HOST:PORT...]/TOPIC" into brokers (cap bytes) and topic
 *  (KAFKA_TOPIC_MAX + 1 bytes). 0, or -EINVAL + errbuf. */
int pk_kafka_parse_uri(const char *uri, char *brokers, size_t cap, char *topic, char *errbuf);

/** One librdkafka property; var names the setting for the error line. 0, or -EINVAL. */
int pk_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, const char *var,
                      char *errbuf);

/** KAFKA_OPTIONS into conf. 0, or -EINVAL with a line naming KAFKA_OPTIONS. */
int pk_kafka_set_options(rd_kafka_conf_t *conf, const char *options, char *errbuf);

/* The transport's settings, from the endpoint and its own variables. */
struct kafka_settings {
    const char *endpoint; /* kafka://HOST:PORT[,HOST:PORT...]/TOPIC */
    const char *options;  /* KAFKA_OPTIONS: comma-separated librdkafka properties */
    const char *group;    /* COLLECT_GROUP */
    enum kafka_start start;
    int64_t start_ms, stop_ms;
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
    struct pk_kafka_metas meta;
    uint8_t *scratch; /* a record's value (producer) or a rebuilt message (consumer) */
    size_t scratch_cap;
    uint64_t delivery_errors, delivered; /* reports of failed and of confirmed records */

    /* consumer */
    uint64_t max_message;
    int receiving;
    rd_kafka_topic_partition_list_t *pending; /* consumed, not yet released: next offsets */
    uint8_t started[KAFKA_MAX_PARTITIONS];    /* partitions assigned before in this process */
    uint8_t assigned[KAFKA_MAX_PARTITIONS];   /* assigned now */
    uint8_t at_end[KAFKA_MAX_PARTITIONS];     /* COLLECT_STOP: read to its end, nothing since */
    int64_t next[KAFKA_MAX_PARTITIONS];       /* offset after the last record taken; 0: none */
    uint64_t skipped;                         /* records outside COLLECT_START..COLLECT_STOP */
    int ended;                                /* every assigned partition done: PK_PEER_END */
    uint64_t malformed, consumer_errors;
    int nassigned;
    uint64_t last_commit_ms; /* loop time of the last commit of released offsets */

    /* closing */
    uint64_t linger_deadline;
    pk_transport_closed_cb closed_cb;
    void *closed_data;
    int flushed;
    uv_work_t destroy_work;
};

/** Serves the queue again on the loop's next turn (it signals only when it turns non-empty),
 *  or in ms milliseconds. */
void pk_kafka_serve_later(struct kafka *k);
void pk_kafka_serve_in(struct kafka *k, uint64_t ms);

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
