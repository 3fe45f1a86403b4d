/*
 * The collector's side of the Kafka transport: a member of consumer group COLLECT_GROUP
 * subscribed to the topic. Each record is rebuilt into its message and handed to on_message,
 * its partition being the peer ("kafka:TOPIC/P": a source stays in its partition). Offsets are
 * stored only when the owner says that what it took has left (released), and committed then
 * (at most every 20 ms; librdkafka commits the rest of what is stored every 200 ms, before a
 * partition is revoked and at close): a crash
 * loses nothing, and what was taken but not committed is read again by whoever owns the
 * partition next (the owner's source table drops what it has seen, by sequence number).
 * Loop thread only (rebalances are served by rd_kafka_consumer_poll, on it).
 */
#define PK_LOG_MODULE "kafka"
#include "kafka_int.h"
#include "log.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define COMMIT_MIN_MS 20

/* A partition assigned for the first time in this process starts where COLLECT_START says. */
static void
apply_start(struct kafka *k, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;

        if (p < 0 || p >= KAFKA_MAX_PARTITIONS || k->started[p])
            continue;
        k->started[p] = 1;
        if (k->set.start == KAFKA_START_EARLIEST || k->set.start == KAFKA_START_TIME)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        else if (k->set.start == KAFKA_START_LATEST)
            parts->elems[i].offset = RD_KAFKA_OFFSET_END;
    }
}

/* Forgets the offsets taken and not released (a new list: elements own their topic names). */
static void
reset_pending(struct kafka *k)
{
    rd_kafka_topic_partition_list_t *l;

    if (k->pending == NULL || k->pending->cnt == 0 ||
        (l = rd_kafka_topic_partition_list_new(16)) == NULL)
        return;
    rd_kafka_topic_partition_list_destroy(k->pending);
    k->pending = l;
}

static void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
             void *opaque)
{
    struct kafka *k = opaque;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (!k->closing)
            apply_start(k, parts);
        rd_kafka_assign(rk, parts);
        for (int i = 0; i < parts->cnt; i++)
            if (parts->elems[i].partition >= 0 && parts->elems[i].partition < KAFKA_MAX_PARTITIONS)
                k->assigned[parts->elems[i].partition] = 1;
        k->up = parts->cnt > 0;
        k->nassigned = parts->cnt;
        k->base.counters.connects++;
        if (!k->closing)
            pk_info_with(&(struct pk_log_fields){.event = "kafka_assigned"},
                         "Kafka: assigned %d partitions of topic %s", parts->cnt, k->topic);
        return;
    }
    /* Revoked: librdkafka commits the stored offsets first (enable.auto.commit). Offsets
     * consumed and not yet released are forgotten: the next owner reads those records again. */
    rd_kafka_assign(rk, NULL);
    memset(k->assigned, 0, sizeof(k->assigned));
    k->up = 0;
    k->nassigned = 0;
    k->base.counters.disconnects++;
    if (!k->closing)
        reset_pending(k);
}

void
pk_kafka_consume_conf(rd_kafka_conf_t *conf)
{
    char errstr[256];

    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    /* Offsets are stored by released(); librdkafka commits what is stored. */
    rd_kafka_conf_set(conf, "enable.auto.commit", "true", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "auto.commit.interval.ms", "200", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr));
    /* What librdkafka fetches ahead while intake is paused: 16 MiB, not its 64 MiB. */
    rd_kafka_conf_set(conf, "queued.max.messages.kbytes", "16384", errstr, sizeof(errstr));
}

int
pk_kafka_consume_start(struct kafka *k, char *errbuf)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t err;

    if (topics == NULL || (k->pending = rd_kafka_topic_partition_list_new(16)) == NULL) {
        if (topics != NULL)
            rd_kafka_topic_partition_list_destroy(topics);
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    }
    rd_kafka_topic_partition_list_add(topics, k->topic, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(k->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return pk_seterr(errbuf, -EINVAL, "librdkafka: cannot subscribe to %s: %s", k->topic,
                         rd_kafka_err2str(err));
    return 0;
}

/* Remembers that the record at offset was taken: its partition's next offset. */
static void
note_taken(struct kafka *k, int32_t partition, int64_t offset)
{
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_find(k->pending, k->topic, partition);

    if (tp == NULL)
        tp = rd_kafka_topic_partition_list_add(k->pending, k->topic, partition);
    tp->offset = offset + 1;
    if (partition >= 0 && partition < KAFKA_MAX_PARTITIONS)
        k->next[partition] = offset + 1;
}

/* COLLECT_START (a time) and COLLECT_STOP, by record time: 1 when m is outside. A record before
 * the start counts as taken (its offset may be committed); one after the stop does not. */
static int
outside_times(struct kafka *k, const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(m, &type);

    if (m->partition >= 0 && m->partition < KAFKA_MAX_PARTITIONS)
        k->at_end[m->partition] = 0;

    if (k->set.start_ms > 0 && ts < k->set.start_ms) {
        k->skipped++;
        note_taken(k, m->partition, m->offset);
        return 1;
    }
    if (k->set.stop_ms > 0 && ts > k->set.stop_ms) {
        k->skipped++;
        return 1;
    }
    return 0;
}

static int64_t
now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * COLLECT_STOP: the input has ended once the stop time has passed and every assigned partition
 * is read to its end. Reached earlier, the check is made again at the stop time (no event comes
 * from an idle partition).
 */
static void
check_end(struct kafka *k)
{
    int64_t now = now_ms();
    int any = 0;

    if (k->set.stop_ms == 0 || k->ended)
        return;
    for (int p = 0; p < KAFKA_MAX_PARTITIONS; p++) {
        if (k->assigned[p] && !k->at_end[p])
            return;
        any |= k->assigned[p];
    }
    if (any && now >= k->set.stop_ms)
        k->ended = 1;
    else if (any)
        pk_kafka_serve_in(k, (uint64_t)(k->set.stop_ms - now) + 1);
}

static void
take(struct kafka *k, const rd_kafka_message_t *m)
{
    char addr[KAFKA_TOPIC_MAX + 24];
    struct pk_peer peer = {.addr = addr, .key = ""};
    size_t need = pk_kafka_record_size(m);
    long len;

    if (outside_times(k, m))
        return;
    snprintf(addr, sizeof(addr), "kafka:%s/%d", k->topic, (int)m->partition);
    note_taken(k, m->partition, m->offset); /* before: on_message may release it */
    k->base.counters.messages_received++;
    k->base.counters.bytes_received += m->len;
    if (need > k->max_message) {
        k->base.counters.messages_oversized++;
    } else if (pk_kafka_scratch(k, need ? need : 1) != 0 ||
               (len = pk_kafka_record_decode(m, k->scratch, k->scratch_cap)) < 0) {
        k->malformed++;
        k->base.on_message(&k->base, k->scratch, 0, &peer); /* counted with the malformed */
    } else {
        k->base.on_message(&k->base, k->scratch, (size_t)len, &peer);
    }
}

/* One record or event of the consumer queue. */
static void
handle(struct kafka *k, rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        take(k, m);
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (m->partition >= 0 && m->partition < KAFKA_MAX_PARTITIONS)
            k->at_end[m->partition] = 1;
    } else {
        k->consumer_errors++;
        pk_log_with(PK_LOG_WARN, &(struct pk_log_fields){.event = "kafka_error"}, "Kafka: %s",
                    rd_kafka_message_errstr(m));
    }
}

void
pk_kafka_consume_serve(struct kafka *k)
{
    rd_kafka_message_t *m;
    int i;

    for (i = 0; i < KAFKA_SERVE_BUDGET && k->receiving && !k->closing; i++) {
        if ((m = rd_kafka_consumer_poll(k->rk, 0)) == NULL)
            break;
        handle(k, m);
        rd_kafka_message_destroy(m);
    }
    if (k->closing)
        return;
    check_end(k);
    if (k->ended == 1) {
        k->ended = 2; /* said once; the owner closes the transport in on_peer */
        k->base.on_peer(&k->base, PK_PEER_END, "", "COLLECT_STOP reached");
        return;
    }
    if (i == KAFKA_SERVE_BUDGET)
        pk_kafka_serve_later(k);
}

void
pk_kafka_consume_released(struct kafka *k)
{
    if (k->pending == NULL || k->pending->cnt == 0)
        return;
    rd_kafka_offsets_store(k->rk, k->pending); /* revoked partitions' stores fail: fine */
    /* Committed at once (at most every COMMIT_MIN_MS; the auto-commit takes the rest): what a
     * crash makes the next owner read again is what was written since. */
    if (uv_now(k->loop) - k->last_commit_ms >= COMMIT_MIN_MS) {
        rd_kafka_commit(k->rk, k->pending, 1);
        k->last_commit_ms = uv_now(k->loop);
    }
    reset_pending(k);
}
