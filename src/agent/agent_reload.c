/* SIGHUP in an agent (agent_int.h). */
#define PK_LOG_MODULE "agent"
#include "agent_int.h"
#include "capture.h"
#include "config.h"
#include "filterfile.h"
#include "log.h"
#include "pcktr.h"
#include "relay.h"

#include <string.h>

int
pk_agent_user_filter(struct agent *a, const char **filter, char *errbuf)
{
    int rc;

    *filter = a->cfg->filter;
    if (a->cfg->filter_file[0] == '\0')
        return 0;
    if ((rc = pk_filter_file_read(a->cfg->filter_file, a->user_filter, sizeof(a->user_filter),
                                  errbuf)) != 0)
        return rc;
    *filter = a->user_filter;
    return 0;
}

/*
 * FILTER_FILE again: a filter that cannot be read or does not compile is logged and the one in
 * force stays. A new one applies at once (what the open batch holds goes first), and a new
 * hello tells the collector, which describes the source's interface again.
 */
static void
reload_filter(struct agent *a)
{
    const char *path = a->cfg->filter_file;
    char fresh[sizeof(a->user_filter)], errbuf[PK_ERRBUF_SIZE];

    if (pk_filter_file_read(path, fresh, sizeof(fresh), errbuf) != 0 ||
        (strcmp(fresh, a->user_filter) != 0 && a->cap != NULL &&
         pk_capture_set_filter(a->cap, fresh, a->exclude, errbuf) != 0)) {
        pk_warn_with(&(struct pk_log_fields){.event = "filter_reload_failed"},
                     "SIGHUP: FILTER_FILE=\"%s\": %s; the filter in force stays: \"%s\"", path,
                     errbuf, a->filter);
        return;
    }
    if (strcmp(fresh, a->user_filter) == 0 || a->cap == NULL) {
        pk_info_with(&(struct pk_log_fields){.event = "reload"},
                     "SIGHUP: FILTER_FILE=\"%s\" read again: the same filter \"%s\"", path,
                     a->filter);
        return;
    }
    pk_relay_flush(a); /* packets of the old filter go in a batch of their own */
    memcpy(a->user_filter, fresh, sizeof(fresh));
    a->filter = pk_capture_filter(a->cap);
    pk_info_with(&(struct pk_log_fields){.event = "filter_changed"},
                 "SIGHUP: FILTER_FILE=\"%s\": the filter is now \"%s\" (in force: \"%s\"); "
                 "sending a new hello",
                 path, a->user_filter, a->filter);
    pk_relay_send_control(a, PK_KIND_HELLO);
}

/*
 * SIGHUP (systemctl reload): one line, and capture goes on (the signal only wakes the loop).
 * Logs go to stderr, so there is no log file to re-open; the transport reads again what it can
 * (a key file) and says so itself.
 */
void
pk_agent_on_hup(void *data)
{
    struct agent *a = data;

    if (a->cfg->filter_file[0] != '\0' && !a->stopping)
        reload_filter(a);
    if (a->cfg->transport->reload != NULL && a->tc != NULL) {
        a->cfg->transport->reload(a->tc, NULL);
        return;
    }
    if (a->cfg->filter_file[0] == '\0')
        pk_info_with(&(struct pk_log_fields){.event = "reload"},
                     "SIGHUP: nothing to reload (logs go to stderr); capturing on");
}
