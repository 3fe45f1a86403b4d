/* SIGHUP in an agent (agent_int.h). */
#define PK_LOG_MODULE "agent"
#include "agent_int.h"
#include "config.h"
#include "log.h"

/*
 * SIGHUP (systemctl reload): one line, and capture goes on (the signal only wakes the loop).
 * Logs go to stderr, so there is no log file to re-open; the transport reads again what it can
 * (a key file) and says so itself.
 */
void
pk_agent_on_hup(void *data)
{
    struct agent *a = data;

    if (a->cfg->transport->reload != NULL && a->tc != NULL) {
        a->cfg->transport->reload(a->tc, NULL);
        return;
    }
    pk_info_with(&(struct pk_log_fields){.event = "reload"},
                 "SIGHUP: nothing to reload (logs go to stderr); capturing on");
}
