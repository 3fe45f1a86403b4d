/*
 * The collector's side of the control plane: it pushes each source's desired state (the
 * plane's, by source name) on the transport's return path when the source's hello or stats shows
 * it applied another generation, and at once when the plane changes. Whether a push is due is the
 * source table's rule (pk_source_control_due: a new generation at once, the same one at most once
 * a second, never one the agent refused). A failed push (-EAGAIN: the return path is full,
 * -ENOTCONN: no such peer now) is counted and tried again at the source's next hello or stats.
 * See control_push.h. Loop thread only.
 */
#define PK_LOG_MODULE "control"
#include "control_push.h"
#include "collector_int.h"
#include "config.h"
#include "control.h"
#include "frame.h"
#include "log.h"
#include "pcktr.h"

#include <errno.h>
#include <string.h>

/* The largest control message: header, the longest name, the body, the longest filter. */
#define CONTROL_MESSAGE_CAP (PK_FRAME_HEADER_LEN + PK_FRAME_NAME_MAX + 26 + PK_CONTROL_FILTER_MAX)

int
pk_control_push_open(struct collector *c)
{
    const struct pk_config *cfg = c->cfg;
    struct pk_control_settings cs = {cfg->control_state, cfg->control_token_file,
                                     cfg->control_allow, cfg->ncontrol_allow};
    char errbuf[PK_ERRBUF_SIZE];
    int rc;

    c->control = NULL;
    if (c->cfg->control_token_file[0] == '\0' && c->cfg->control_state[0] == '\0')
        return PK_EXIT_OK; /* the control plane is off: no return path is opened either */
    if ((rc = pk_control_plane_open(&c->control, &cs, errbuf)) != 0) {
        pk_error("%s", errbuf);
        c->control = NULL;
        return pk_exit_code(rc);
    }
    /* The plane is the store's (src/control/control.h); push follows its changes. */
    pk_control_plane_on_change(c->control, pk_control_push_on_changed, c);
    return PK_EXIT_OK;
}

void
pk_control_push_free(struct collector *c)
{
    if (c->control != NULL)
        pk_control_plane_free(c->control);
    c->control = NULL;
}

uint64_t
pk_control_push_desired_gen(const void *data, const char *name)
{
    const struct collector *c = data;
    struct pk_control_desired d;

    if (c->control == NULL)
        return 0;
    pk_control_plane_desired(c->control, name, &d);
    return d.generation;
}

/* One push of the desired state to s; 0 or the transport's -errno (counted either way). */
static int
send_to(struct collector *c, struct pk_source *s, const struct pk_control_desired *d,
        uint64_t now_ns)
{
    uint8_t buf[CONTROL_MESSAGE_CAP];
    struct pk_control msg;
    size_t len;
    int rc = -EMSGSIZE; /* a filter the store should not have taken: counted, not sent */

    pk_control_message_of(d, &msg);
    len =
        pk_frame_encode_control(buf, sizeof(buf), &(struct pk_frame_source){s->id, s->name}, &msg);
    if (len > 0) {
        pk_frame_set_seq(buf, ++c->control_seq, pk_now_ns());
        rc = c->tr->ops->send_control(c->tr, s->peer, buf, len);
    }
    pk_source_control_sent(s, d->generation, now_ns, rc);
    if (rc == 0) {
        c->control_sent++;
        pk_debug("sent control generation %llu to source \"%s\" at %s",
                 (unsigned long long)d->generation, s->name, s->peer);
        return 0;
    }
    c->control_send_failures++;
    /* An agent's full return path repeats at each of its messages: the logger rate-limits the
     * event (docs/LOGGING.md); every failure is in control_send_failures. */
    pk_warn_with(SOURCE_FIELDS(s, "control_send_failed"),
                 "could not send control generation %llu to source \"%s\" at %s: %s (tried again "
                 "at its next message)",
                 (unsigned long long)d->generation, s->name, s->peer[0] ? s->peer : "(unknown)",
                 strerror(-rc));
    return rc;
}

/* Pushes the desired state to s when due; nothing without a plane or a return path. */
static void
push(struct collector *c, struct pk_source *s, uint64_t now_ns)
{
    struct pk_control_desired d;

    if (c->control == NULL || c->tr == NULL || c->tr->ops->send_control == NULL || c->stopping)
        return;
    pk_control_plane_desired(c->control, s->name, &d);
    if (pk_source_control_due(s, d.generation, now_ns))
        (void)send_to(c, s, &d, now_ns);
}

void
pk_control_push_source(struct collector *c, struct pk_source *s, uint64_t applied_was,
                       uint64_t refused_was, uint64_t now_ns)
{
    /* A source's first message says what it applied before this collector knew it: no news. */
    if (s->applied_gen != applied_was && s->messages > 1)
        pk_info_with(SOURCE_FIELDS(s, "control_applied"),
                     "source \"%s\" applied control generation %llu (was %llu)", s->name,
                     (unsigned long long)s->applied_gen, (unsigned long long)applied_was);
    if (s->refused_gen != refused_was && s->refused_gen != 0)
        pk_warn_with(SOURCE_FIELDS(s, "control_refused"),
                     "source \"%s\" refused control generation %llu (its filter did not compile "
                     "there); it keeps generation %llu",
                     s->name, (unsigned long long)s->refused_gen,
                     (unsigned long long)s->applied_gen);
    push(c, s, now_ns);
}

void
pk_control_push_on_changed(void *data, const char *name)
{
    struct collector *c = data;
    uint64_t now = pk_now_ns();

    for (size_t i = 0; i < c->sources.n; i++) {
        struct pk_source *s = c->sources.v[i];
        /* A source that left is sent nothing: its next hello brings it up to date. */
        if (s->said_goodbye || (c->per_connection && !s->connected))
            continue;
        if (name == NULL || strcmp(s->name, name) == 0)
            push(c, s, now);
    }
}
