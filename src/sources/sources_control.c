/* The control plane as the source table sees it: what state a source's control is in, and when
 * the collector pushes the desired state to it. Pure; see sources.h. */
#include "sources.h"

const char *const pk_source_control_names[PK_SC_STATES] = {"off", "unsupported", "applied",
                                                           "pending", "refused"};

enum pk_source_control
pk_source_control_state(const struct pk_source *s, uint64_t desired, int plane_on, int return_path)
{
    if (!s->takes_control || !plane_on)
        return PK_SC_OFF;
    if (!return_path)
        return PK_SC_UNSUPPORTED;
    if (desired == s->applied_gen)
        return PK_SC_APPLIED;
    /* refused_gen 0 is "none": desired 0 (nothing set) is never refused, so an agent that kept
     * an older collector's narrowing is told to drop it. */
    if (s->refused_gen != 0 && desired == s->refused_gen)
        return PK_SC_REFUSED;
    return PK_SC_PENDING;
}

int
pk_source_control_due(const struct pk_source *s, uint64_t desired, uint64_t now_ns)
{
    if (pk_source_control_state(s, desired, 1, 1) != PK_SC_PENDING)
        return 0;
    if (s->control_sends + s->control_send_failures == 0 || desired != s->control_sent_gen)
        return 1; /* a generation it was never sent: at once */
    /* The same generation again: the agent may have missed it (a reconnect, a full return
     * path), but a source that speaks often must not be sent one per message. */
    return now_ns < s->last_control_sent_ns ||
           now_ns - s->last_control_sent_ns >= PK_CONTROL_RESEND_NS;
}

void
pk_source_control_sent(struct pk_source *s, uint64_t desired, uint64_t now_ns, int rc)
{
    s->last_control_sent_ns = now_ns;
    s->control_sent_gen = desired;
    if (rc == 0)
        s->control_sends++;
    else
        s->control_send_failures++;
}
