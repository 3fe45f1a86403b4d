/*
 * The agent's side of the Kafka transport: one record per message, keyed by the source id
 * (a source stays in one partition, in order), timestamped with its first packet's capture
 * time, from an idempotent producer (librdkafka retries without duplicates or reordering).
 * At most RELAY_QUEUE records wait for their delivery report; beyond, send says -EAGAIN and
 * on_writable follows the report that makes room. Loop thread only.
 */
#include "kafka_int.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>

/* The delivery report, served on the loop thread by rd_kafka_poll. */
static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka *k = opaque;

    (void)rk;
    k->inflight--;
    /* One partition per source, and idempotence keeps its reports in send order. */
    if (k->base.on_delivered != NULL)
        k->base.on_delivered(&k->base, m->err == RD_KAFKA_RESP_ERR_NO_ERROR);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        k->delivery_errors++;
        return;
    }
    k->delivered++;
    k->base.counters.messages_sent++;
    k->base.counters.bytes_sent += m->len;
    if (!k->up) {
        k->up = 1;
        k->base.counters.connects++;
        if (k->base.on_peer != NULL && !k->closing)
            k->base.on_peer(&k->base, PK_PEER_UP, "", "");
    }
}

void
pk_kafka_produce_conf(rd_kafka_conf_t *conf)
{
    char errstr[256];

    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    /* Defaults KAFKA_OPTIONS may change: exactly once per partition, in order. */
    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr));
}

void
pk_kafka_produce_serve(struct kafka *k)
{
    /* rd_kafka_poll serves at most one batch of events per call: until none. */
    int i;

    for (i = 0; i < KAFKA_SERVE_BUDGET; i++)
        if (rd_kafka_poll(k->rk, 0) == 0)
            break;
    if (i == KAFKA_SERVE_BUDGET)
        pk_kafka_serve_later(k);
    if (k->want_writable && k->inflight < k->queue_limit && !k->closing) {
        k->want_writable = 0;
        if (k->base.on_writable != NULL)
            k->base.on_writable(&k->base);
    }
}

int
pk_kafka_produce(struct kafka *k, const void *buf, size_t len)
{
    struct pk_kafka_out out;
    rd_kafka_resp_err_t err;
    int rc;

    if (k->closing)
        return -EPIPE;
    if (k->inflight >= k->queue_limit) {
        k->want_writable = 1;
        return -EAGAIN;
    }
    if ((rc = pk_kafka_scratch(k, len)) != 0)
        return rc;
    if ((rc = pk_kafka_record_encode(&k->meta, buf, len, k->scratch, &out)) != 0)
        return rc;
    err = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(k->topic),
                            RD_KAFKA_V_KEY(out.key, sizeof(out.key) - 1),
                            RD_KAFKA_V_VALUE(out.value_len ? k->scratch : NULL, out.value_len),
                            RD_KAFKA_V_TIMESTAMP(out.ts_ms), RD_KAFKA_V_HEADERS(out.headers),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(out.headers); /* not taken over on failure */
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            k->want_writable = 1;
            return -EAGAIN;
        }
        return -EIO;
    }
    k->inflight++;
    return 0;
}
