/* Configuration: defaults, every accepted form, and one clear line for every bad value. */
#include "config.h"
#include "pcktr.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const *env; /* NULL-terminated name, value pairs */

static const char *
fake_getenv(const char *name)
{
    for (const char *const *p = env; p && p[0]; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

static int
load(struct pk_config *cfg, char *errbuf, const char *const *vars)
{
    env = vars;
    errbuf[0] = '\0';
    return pk_config_load(cfg, fake_getenv, errbuf);
}

static void
test_defaults(void **state)
{
    struct pk_config cfg;
    char err[PK_ERRBUF_SIZE], host[256], want[300];
    const char *const none[] = {NULL};

    (void)state;
    assert_int_equal(load(&cfg, err, none), 0);
    assert_int_equal(cfg.mode, PK_MODE_CAPTURE);
    assert_string_equal(cfg.device, "lo");
    assert_string_equal(cfg.filter, "");
    assert_null(cfg.read_file);
    assert_string_equal(cfg.relay_endpoint, "tcp://localhost:7386");
    assert_string_equal(cfg.collect_endpoint, "tcp://localhost:7386");
    assert_string_equal(cfg.metrics_addrport, ":9108");
    assert_string_equal(cfg.relay_transport, "zmq");
    assert_int_equal(cfg.relay_ep.port, 7386);
    assert_string_equal(cfg.relay_ep.host, "localhost");
    assert_int_equal(cfg.metrics_ep.port, 9108);
    assert_string_equal(cfg.metrics_ep.host, "");
    assert_true(cfg.snaplen == 262144);
    assert_int_equal(cfg.promisc, 1);
    assert_true(cfg.heartbeat_ms == 1000);
    gethostname(host, sizeof(host));
    snprintf(want, sizeof(want), "%s:lo", host);
    assert_string_equal(cfg.source_name, want);
}

static void
test_accepted_forms(void **state)
{
    struct pk_config cfg;
    char err[PK_ERRBUF_SIZE];
    const char *const vars[] = {"MODE", "collect", "COLLECT_ENDPOINT", "tcp://*:7400",
                                "RELAY_ENDPOINT", "tcp://[::1]:7401", "METRICS_ADDRPORT",
                                "[::1]:9200", "SNAPLEN", "96", "PROMISC", "off", "BUFFER_SIZE",
                                "2M", "HEARTBEAT_INTERVAL", "250ms", "LINGER", "1.5s",
                                "SOURCE_NAME", "edge-7", "LOG_LEVEL", "debug", "LOG_FORMAT",
                                "json", NULL};

    (void)state;
    assert_int_equal(load(&cfg, err, vars), 0);
    assert_int_equal(cfg.mode, PK_MODE_COLLECT);
    assert_string_equal(cfg.collect_ep.host, "");
    assert_int_equal(cfg.collect_ep.port, 7400);
    assert_string_equal(cfg.relay_ep.host, "::1");
    assert_string_equal(cfg.metrics_ep.host, "::1");
    assert_true(cfg.snaplen == 96);
    assert_int_equal(cfg.promisc, 0);
    assert_true(cfg.buffer_size == 2u << 20);
    assert_true(cfg.heartbeat_ms == 250);
    assert_true(cfg.linger_ms == 1500);
    assert_string_equal(cfg.source_name, "edge-7");
    assert_int_equal(cfg.log_level, 0);
    assert_int_equal(cfg.log_format, 1);
}

static void
test_empty_metrics_disables(void **state)
{
    struct pk_config cfg;
    char err[PK_ERRBUF_SIZE];
    const char *const vars[] = {"METRICS_ADDRPORT", "", NULL};

    (void)state;
    assert_int_equal(load(&cfg, err, vars), 0);
    assert_string_equal(cfg.metrics_addrport, "");
}

static void
test_read_file_source_name(void **state)
{
    struct pk_config cfg;
    char err[PK_ERRBUF_SIZE];
    const char *const vars[] = {"READ_FILE", "/data/trace.pcapng", NULL};

    (void)state;
    assert_int_equal(load(&cfg, err, vars), 0);
    assert_string_equal(cfg.read_file, "/data/trace.pcapng");
    assert_non_null(strstr(cfg.source_name, ":trace.pcapng"));
}

/* Each bad value: -EINVAL and one line naming the variable, the value and what is accepted. */
static void
test_errors(void **state)
{
    static const struct {
        const char *name, *value, *accepted;
    } cases[] = {
        {"MODE", "relay", "capture|collect"},
        {"SNAPLEN", "abc", "integer from 1 to 262144"},
        {"SNAPLEN", "0", "integer from 1 to 262144"},
        {"SNAPLEN", "262145", "integer from 1 to 262144"},
        {"SNAPLEN", "-5", "integer from 1 to 262144"},
        {"PROMISC", "maybe", "true|false"},
        {"BUFFER_SIZE", "12Q", "size in bytes"},
        {"BUFFER_SIZE", "1K", "size in bytes"},
        {"HEARTBEAT_INTERVAL", "soon", "duration"},
        {"HEARTBEAT_INTERVAL", "1ms", "duration"},
        {"RELAY_TRANSPORT", "carrier-pigeon", "zmq"},
        {"RELAY_ENDPOINT", "localhost:7386", "tcp://HOST:PORT"},
        {"RELAY_ENDPOINT", "tcp://localhost", "tcp://HOST:PORT"},
        {"RELAY_ENDPOINT", "tcp://localhost:99999", "tcp://HOST:PORT"},
        {"RELAY_ENDPOINT", "tcp://::1:7386", "tcp://HOST:PORT"},
        {"RELAY_ENDPOINT", "tcp://[::1:7386", "tcp://HOST:PORT"},
        {"RELAY_ENDPOINT", "tcp://*:7386", "tcp://HOST:PORT"},
        {"RELAY_ENDPOINT", "tcp://bad host:7386", "tcp://HOST:PORT"},
        {"COLLECT_ENDPOINT", "udp://0.0.0.0:7386", "tcp://HOST:PORT"},
        {"METRICS_ADDRPORT", "9108", "[HOST]:PORT"},
        {"METRICS_ADDRPORT", ":0", "[HOST]:PORT"},
        {"LOG_LEVEL", "verbose", "debug|info|warn|error"},
        {"LOG_FORMAT", "xml", "text|json"},
        {"DEVICE", "", "interface name"},
        {"SOURCE_STALE_AFTER", "0", "duration"},
        {"OUTPUT_FORMAT", "pcapng2", "pcap|pcapng"},
        {"OUTPUT", "", "a file path"},
        {"SOURCE_GONE_AFTER", "1s", "at least SOURCE_STALE_AFTER"},
    };
    struct pk_config cfg;
    char err[PK_ERRBUF_SIZE], quoted[300];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *const vars[] = {cases[i].name, cases[i].value, NULL};
        assert_int_equal(load(&cfg, err, vars), -EINVAL);
        snprintf(quoted, sizeof(quoted), "%s=\"%s\"", cases[i].name, cases[i].value);
        if (strstr(err, quoted) == NULL || strstr(err, cases[i].accepted) == NULL ||
            strchr(err, '\n') != NULL)
            fail_msg("case %zu: unexpected message: %s", i, err);
    }
}

/*
 * A value decoded before it is checked (a SERVE_CONNECT filter, percent-encoded) can hold a
 * newline or another control character; the refusal quoting it stays one line (fuzz_config
 * found this one).
 */
static void
test_error_is_one_line_after_decoding(void **state)
{
    static const char *const values[] = {
        "127.0.0.1:6?filter=tcp%0aport",
        "127.0.0.1:6?filter=%0d%0a%1b[2J",
        "127.0.0.1:6?format=pcap%0anot",
    };
    struct pk_config cfg;
    char err[PK_ERRBUF_SIZE];

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const char *const vars[] = {"SERVE_CONNECT", values[i], NULL};
        assert_int_equal(load(&cfg, err, vars), -EINVAL);
        assert_non_null(strstr(err, "SERVE_CONNECT"));
        for (const char *c = err; *c != '\0'; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                fail_msg("case %zu: a control character in: %s", i, err);
    }
}

static void
test_conflicts(void **state)
{
    struct pk_config cfg;
    char err[PK_ERRBUF_SIZE];
    const char *const both[] = {"DEVICE", "eth0", "READ_FILE", "x.pcap", NULL};
    const char *const collect_file[] = {"MODE", "collect", "READ_FILE", "x.pcap", NULL};
    const char *const long_name[] = {
        "SOURCE_NAME",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        NULL};

    (void)state;
    assert_int_equal(load(&cfg, err, both), -EINVAL);
    assert_non_null(strstr(err, "DEVICE=\"eth0\""));
    assert_non_null(strstr(err, "READ_FILE=\"x.pcap\""));
    assert_int_equal(load(&cfg, err, collect_file), -EINVAL);
    assert_non_null(strstr(err, "MODE=capture"));
    assert_int_equal(load(&cfg, err, long_name), -EINVAL);
    assert_non_null(strstr(err, "1 to 255 bytes"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_empty_metrics_disables),
        cmocka_unit_test(test_read_file_source_name),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_is_one_line_after_decoding),
        cmocka_unit_test(test_conflicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
