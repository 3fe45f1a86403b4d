/*
 * The collector's push of desired control state (src/collector/control_push.c), with the real
 * store (src/control) and a transport whose send_control records what it was given: a hello or stats of
 * a source that takes control sends the desired state when due, a plane change sends at once,
 * a full return path is counted and tried again, a source that takes no control is sent nothing.
 */
#include "collector_int.h"
#include "config.h"
#include "control.h"
#include "control_push.h"
#include "frame.h"
#include "loop.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

static struct collector c;
static struct pk_config cfg;
static struct pk_transport tr;

/* The real store (in memory but for its state file, in a fresh directory), set as an API
 * request would: want() returns the generation of the change. */
static char state_dir[64];
static char state_path[96];

static uint64_t
want(const char *name, int paused, const char *filter)
{
    struct pk_control_entry e = {.filter = (char *)filter, .paused = paused};
    const struct pk_control_entry *out;
    char errbuf[256];

    assert_int_equal(pk_control_plane_set(c.control, name, &e, "test", &out, errbuf), 0);
    return out->generation;
}

/* The transport: send_control decodes what it gets and answers with next_rc. */
static struct {
    int calls, next_rc;
    char peer[64];
    struct pk_frame f;
    uint8_t buf[8192];
} tx;

static int
fake_send_control(struct pk_transport *t, const char *peer, const void *buf, size_t len)
{
    (void)t;
    tx.calls++;
    snprintf(tx.peer, sizeof(tx.peer), "%s", peer);
    assert_true(len <= sizeof(tx.buf));
    memcpy(tx.buf, buf, len);
    assert_int_equal(pk_frame_decode(tx.buf, len, &tx.f), 0);
    return tx.next_rc;
}

static const struct pk_transport_ops with_return_path = {.name = "fake",
                                                         .send_control = fake_send_control};
static const struct pk_transport_ops without_return_path = {.name = "fake-oneway"};


static int
setup(void **state)
{
    (void)state;
    memset(&c, 0, sizeof(c));
    memset(&cfg, 0, sizeof(cfg));
    memset(&tx, 0, sizeof(tx));
    snprintf(state_dir, sizeof(state_dir), "/tmp/test_control_push.XXXXXX");
    assert_non_null(mkdtemp(state_dir));
    snprintf(state_path, sizeof(state_path), "%s/state.json", state_dir);
    cfg.control_token_file = "";
    cfg.control_state = state_path;
    cfg.transport = &with_return_path;
    tr.ops = &with_return_path;
    c.cfg = &cfg;
    c.tr = &tr;
    pk_sources_init(&c.sources, 8, 3000, 30000);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pk_control_push_free(&c);
    pk_sources_free(&c.sources);
    unlink(state_path);
    rmdir(state_dir);
    return 0;
}

static struct pk_source *
source(uint64_t id, const char *name, int takes, uint64_t applied)
{
    struct pk_frame f = {.source_id = id, .kind = PK_KIND_HELLO};
    int created;
    struct pk_source *s;

    f.name = (struct pk_str){name, (uint16_t)strlen(name)};
    s = pk_sources_track(&c.sources, &f, 1, &created);
    assert_non_null(s);
    s->takes_control = takes;
    s->applied_gen = applied;
    snprintf(s->peer, sizeof(s->peer), "127.0.0.1:%u", (unsigned)(40000 + id));
    s->connected = 1;
    return s;
}

static void
test_off_without_settings(void **state)
{
    (void)state;
    cfg.control_state = "";
    assert_int_equal(pk_control_push_open(&c), 0);
    assert_null(c.control);
    assert_true(pk_control_push_desired_gen(&c, "a") == 0);
}

static void
test_pushes_when_due(void **state)
{
    struct pk_source *s;
    uint64_t gen, t0;

    (void)state;
    assert_int_equal(pk_control_push_open(&c), 0);
    assert_non_null(c.control);
    s = source(7, "agent-a", 1, 0);
    gen = want("agent-a", 1, "tcp port 443"); /* the change is pushed at once */
    assert_int_equal(tx.calls, 1);
    assert_string_equal(tx.peer, "127.0.0.1:40007");
    assert_int_equal(tx.f.kind, PK_KIND_CONTROL);
    assert_true(tx.f.source_id == 7 && tx.f.u.control.generation == gen);
    assert_true(tx.f.name.len == 7 && memcmp(tx.f.name.ptr, "agent-a", 7) == 0);
    assert_true(tx.f.u.control.flags == PK_CONTROL_PAUSED);
    assert_true(tx.f.u.control.filter.len == 12);
    assert_true(s->control_sends == 1 && c.control_sent == 1);
    t0 = pk_now_ns();
    pk_control_push_source(&c, s, 0, 0, t0 + 200); /* within the second: not again */
    assert_int_equal(tx.calls, 1);
    s->applied_gen = gen; /* its stats say it applied it */
    pk_control_push_source(&c, s, 0, 0, t0 + 3000000000ull);
    assert_int_equal(tx.calls, 1);
    assert_true(pk_control_push_desired_gen(&c, "agent-a") == gen);
}

static void
test_full_return_path_retried(void **state)
{
    struct pk_source *s;

    (void)state;
    assert_int_equal(pk_control_push_open(&c), 0);
    s = source(8, "agent-b", 1, 0);
    tx.next_rc = -EAGAIN;
    want("agent-b", 0, "udp"); /* pushed at once, and the return path is full */
    assert_true(s->control_send_failures == 1 && c.control_send_failures == 1);
    assert_true(s->control_sends == 0);
    tx.next_rc = 0;
    pk_control_push_source(&c, s, 0, 0, pk_now_ns() + 1000000100ull); /* a second later */
    assert_int_equal(tx.calls, 2);
    assert_true(s->control_sends == 1 && c.control_sent == 1);
}

static void
test_plane_change_pushes_at_once(void **state)
{
    struct pk_source *a, *b, *off, *gone;
    char errbuf[256];

    (void)state;
    assert_int_equal(pk_control_push_open(&c), 0);
    a = source(1, "a", 1, 0);
    b = source(2, "b", 1, 0);
    off = source(3, "a", 0, 0); /* CONTROL=off, same name */
    gone = source(4, "a", 1, 0);
    gone->said_goodbye = 1;
    want("a", 0, "udp port 53");
    assert_int_equal(tx.calls, 1);
    assert_true(a->control_sends == 1 && b->control_sends == 0 && off->control_sends == 0);
    assert_true(gone->control_sends == 0);
    /* The entry for all sources: at once, to every source it applies to (not "a", which has its
     * own entry), then to "a" too once its own entry is deleted. */
    want(NULL, 1, "");
    assert_int_equal(tx.calls, 2);
    assert_true(a->control_sends == 1 && b->control_sends == 1 && off->control_sends == 0);
    assert_int_equal(pk_control_plane_clear(c.control, "a", "test", NULL, errbuf), 0);
    assert_int_equal(tx.calls, 3);
    assert_true(a->control_sends == 2 && tx.f.source_id == 1 && tx.f.u.control.flags == PK_CONTROL_PAUSED);
}

static void
test_no_return_path(void **state)
{
    struct pk_source *s;

    (void)state;
    tr.ops = &without_return_path;
    assert_int_equal(pk_control_push_open(&c), 0);
    s = source(9, "agent-c", 1, 0);
    want("agent-c", 1, "");
    pk_control_push_source(&c, s, 0, 0, 100);
    pk_control_push_on_changed(&c, NULL);
    assert_int_equal(tx.calls, 0);
    assert_true(s->control_sends == 0 && s->control_send_failures == 0);
    tr.ops = &with_return_path;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_off_without_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pushes_when_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_return_path_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plane_change_pushes_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_return_path, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
