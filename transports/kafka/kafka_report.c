/*
 * What the Kafka transport says about itself: how the relay to the brokers is protected (at
 * start), and its counters for /metrics and /status (ops->report).
 */
#include "kafka_int.h"
#include "log.h"
#include "pcktr.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The relay to the brokers is what librdkafka's security.protocol in KAFKA_OPTIONS says. */
#define PK_LOG_MODULE module
void
pk_kafka_log_security(const struct pk_transport_config *c)
{
    const char *module = c->role == PK_TRANSPORT_SENDER ? "agent" : "collector";
    const char *p = strstr(c->options, "security.protocol=");
    char proto[32] = "plaintext";

    if (p != NULL && (p == c->options || p[-1] == ','))
        snprintf(proto, sizeof(proto), "%.*s", (int)strcspn(p + 18, ","), p + 18);
    if (strcasecmp(proto, "ssl") == 0 || strcasecmp(proto, "sasl_ssl") == 0)
        pk_info("the relay to the Kafka brokers uses TLS "
                "(KAFKA_OPTIONS security.protocol=%s)",
                proto);
    else
        pk_warn("the relay to the Kafka brokers is not encrypted "
                "(security.protocol=%s): captured packets cross the network in clear text; "
                "set security.protocol=ssl or sasl_ssl in KAFKA_OPTIONS",
                proto);
}
#undef PK_LOG_MODULE

#define LAG_PARTITIONS                                                                             \
    16 /* partitions whose lag has a series of its own (the report is bounded)                     \
        */

/* Consumer lag from librdkafka's cached high watermarks (no request): in total, and for the
 * first LAG_PARTITIONS assigned partitions. */
static void
report_lag(const struct kafka *k, struct pk_transport_report *r)
{
    static const struct pk_transport_stat
        total = {"packeteur_kafka_consumer_lag",
                 "gauge",
                 "Records in the assigned partitions not yet read (from the brokers' last "
                 "high watermarks).",
                 "",
                 "messages",
                 "kafka_lag",
                 0},
        part = {"packeteur_kafka_partition_lag",
                "gauge",
                "Records of an assigned partition not yet read.",
                NULL,
                NULL,
                NULL,
                0};
    static char labels[LAG_PARTITIONS][32]; /* the report's strings must be static */
    uint64_t lag[KAFKA_MAX_PARTITIONS] = {0}, sum = 0;
    int shown = 0;

    for (int p = 0; p < KAFKA_MAX_PARTITIONS; p++) {
        int64_t lo, hi, pos;
        if (!k->assigned[p] || rd_kafka_get_watermark_offsets(k->rk, k->topic, p, &lo, &hi) != 0 ||
            hi < 0)
            continue;
        pos = k->next[p] > 0 ? k->next[p] : lo; /* nothing read yet: from the oldest */
        lag[p] = hi > pos ? (uint64_t)(hi - pos) : 0;
        sum += lag[p];
    }
    pk_transport_stat_add(r, &total, sum);
    for (int p = 0; p < KAFKA_MAX_PARTITIONS && shown < LAG_PARTITIONS; p++) {
        struct pk_transport_stat s = part;
        if (!k->assigned[p])
            continue;
        snprintf(labels[shown], sizeof(labels[shown]), "partition=\"%d\"", p);
        s.labels = labels[shown++];
        pk_transport_stat_add(r, &s, lag[p]);
    }
}

void
pk_kafka_report(struct pk_transport *t, struct pk_transport_report *r)
{
    static const struct pk_transport_stat
        queued = {"packeteur_kafka_producer_queue",
                  "gauge",
                  "Records handed to librdkafka and not yet confirmed by a delivery report.",
                  "",
                  "relay",
                  "kafka_queued",
                  0},
        delivered = {"packeteur_kafka_delivered_total",
                     "counter",
                     "Records the brokers confirmed (delivery reports without error).",
                     "",
                     "relay",
                     "kafka_delivered",
                     0},
        failed = {"packeteur_kafka_delivery_errors_total",
                  "counter",
                  "Records whose delivery report was an error (lost: retries are librdkafka's).",
                  "",
                  "relay",
                  "kafka_delivery_errors",
                  0},
        assigned = {"packeteur_kafka_assigned_partitions",
                    "gauge",
                    "Partitions of the topic assigned to this member of the group.",
                    "",
                    "messages",
                    "kafka_assigned_partitions",
                    0},
        malformed = {"packeteur_kafka_records_malformed_total",
                     "counter",
                     "Records that are no message of this protocol (no pktr.frame header, a "
                     "value that is no run of pcap records).",
                     "",
                     "messages",
                     "kafka_records_malformed",
                     0},
        skipped = {"packeteur_kafka_records_skipped_total",
                   "counter",
                   "Records outside COLLECT_START..COLLECT_STOP, read and not written.",
                   "",
                   "messages",
                   "kafka_records_skipped",
                   0},
        errors = {"packeteur_kafka_consumer_errors_total",
                  "counter",
                  "Errors the consumer reported (fetch failures and the like).",
                  "",
                  "messages",
                  "kafka_consumer_errors",
                  0};
    const struct kafka *k = (const struct kafka *)t;

    if (k->role == PK_TRANSPORT_SENDER) {
        pk_transport_stat_add(r, &queued, k->inflight);
        pk_transport_stat_add(r, &delivered, k->delivered);
        pk_transport_stat_add(r, &failed, k->delivery_errors);
        return;
    }
    pk_transport_stat_add(r, &assigned, (uint64_t)k->nassigned);
    pk_transport_stat_add(r, &malformed, k->malformed);
    pk_transport_stat_add(r, &skipped, k->skipped);
    pk_transport_stat_add(r, &errors, k->consumer_errors);
    report_lag(k, r);
}
