/* Metrics and status rendering from fixed reports. */
#include "metrics.h"
#include "status.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct pk_source *
source(struct pk_sources *t, uint64_t id, const char *name, uint64_t packets, uint64_t seen_ns)
{
    struct pk_frame f = {.source_id = id};
    struct pk_source *s;
    int created;

    f.name.ptr = name;
    f.name.len = (uint16_t)strlen(name);
    s = pk_sources_track(t, &f, seen_ns, &created);
    s->packets = packets;
    return s;
}

static void
test_collect_sums_sources_sharing_a_name(void **state)
{
    struct pk_sources t;
    struct pk_collect_report r;
    struct pk_buf b = {0};
    const uint64_t s = 1000000000ull;

    (void)state;
    pk_sources_init(&t, 8, 5000, 60000);
    /* A backslash and a quote need escaping in label values (control characters never get this
     * far: the source table turns them into '?'). */
    source(&t, 1, "web\\1\"", 10, 100 * s)->said_goodbye = 1; /* restarted: old id gone */
    source(&t, 2, "web\\1\"", 5, 100 * s);
    source(&t, 3, "db", 7, 90 * s); /* silent 10 s: stale */
    memset(&r, 0, sizeof(r));
    r.common.now_ns = 100 * s;
    r.sources = &t;
    pk_metrics_collect(&b, &r);
    assert_non_null(strstr(b.data, "packeteur_source_packets_total{source=\"web\\\\1\\\"\"} 15\n"));
    assert_non_null(strstr(b.data, "packeteur_source_packets_total{source=\"db\"} 7\n"));
    assert_non_null(strstr(b.data, "packeteur_source_up{source=\"web\\\\1\\\"\"} 1\n"));
    assert_non_null(strstr(b.data, "packeteur_source_up{source=\"db\"} 0\n"));
    assert_non_null(strstr(b.data, "packeteur_sources{state=\"gone\"} 1\n"));
    assert_non_null(strstr(b.data, "packeteur_sources{state=\"stale\"} 1\n"));
    /* each label set once */
    assert_null(strstr(strstr(b.data, "packeteur_source_packets_total{source=\"web") + 1,
                       "packeteur_source_packets_total{source=\"web"));
    pk_buf_free(&b);

    char *json = pk_status_collect(&r);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"name\":\"web\\\\1\\\"\""));
    assert_non_null(strstr(json, "\"sources_by_state\":{\"up\":1,\"stale\":1,\"gone\":1}"));
    free(json);
    pk_sources_free(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_sums_sources_sharing_a_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
