/*
 * A Kafka-protocol cluster for the tests: librdkafka's mock cluster (rdkafka_mock.h) with 3
 * brokers on 127.0.0.1 and one topic. Usage: kafka_mock TOPIC PARTITIONS. Prints the bootstrap
 * servers on one line of stdout, then runs until SIGTERM or SIGINT. Outages: SIGUSR1 sets every
 * broker down, SIGUSR2 sets them up again; a line "down ID" or "up ID" on stdin does the same for
 * broker ID (1..3). The mock keeps about 5 MiB per partition, oldest first out.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BROKERS 3

static rd_kafka_mock_cluster_t *mc;

static void
set_broker(int id, int up)
{
    rd_kafka_resp_err_t err =
        up ? rd_kafka_mock_broker_set_up(mc, id) : rd_kafka_mock_broker_set_down(mc, id);

    fprintf(stderr, "kafka_mock: broker %d %s: %s\n", id, up ? "up" : "down",
            rd_kafka_err2str(err));
}

static void *
read_commands(void *arg)
{
    char line[64];
    int id;

    (void)arg;
    while (fgets(line, sizeof(line), stdin) != NULL) {
        if (sscanf(line, "down %d", &id) == 1)
            set_broker(id, 0);
        else if (sscanf(line, "up %d", &id) == 1)
            set_broker(id, 1);
        else
            fprintf(stderr, "kafka_mock: unknown command (down ID | up ID)\n");
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    sigset_t set;
    pthread_t reader;
    int partitions, sig = 0;

    if (argc != 3 || (partitions = atoi(argv[2])) < 1) {
        fprintf(stderr, "usage: kafka_mock TOPIC PARTITIONS\n");
        return 2;
    }
    /* Signals are blocked in every thread (librdkafka's inherit the mask) and taken here. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        return 1;
    }
    if ((mc = rd_kafka_mock_cluster_new(rk, BROKERS)) == NULL) {
        fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
        return 1;
    }
    if (rd_kafka_mock_topic_create(mc, argv[1], partitions, BROKERS) != 0) {
        fprintf(stderr, "kafka_mock: cannot create topic %s\n", argv[1]);
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    if (pthread_create(&reader, NULL, read_commands, NULL) == 0)
        pthread_detach(reader);
    while (sig != SIGTERM && sig != SIGINT) {
        if (sigwait(&set, &sig) != 0)
            break;
        for (int id = 1; (sig == SIGUSR1 || sig == SIGUSR2) && id <= BROKERS; id++)
            set_broker(id, sig == SIGUSR2);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
