/* SIGHUP in an agent (agent_int.h). */
#define PK_LOG_MODULE "agent"
#include "agent_int.h"
#include "capture.h"
#include "config.h"
#include "filterfile.h"
#include "log.h"
#include "pcktr.h"
#include "relay.h"

#include <errno.h>
#include <string.h>

/* The configuration with the file's settings: next, the environment's with them (a setting
 * the file no longer holds is the environment's again). */
static int
settings_of(struct agent *a, const struct pk_filter_file *ff, struct pk_config *next,
            char values[PK_FF_SETTINGS][PK_FILTER_FILE_VALUE_MAX], char *errbuf)
{
    char why[PK_ERRBUF_SIZE];
    int rc;

    *next = *a->env_cfg;
    memcpy(values, ff->value, sizeof(ff->value));
    for (int k = 0; k < PK_FF_SETTINGS; k++)
        if (values[k][0] != '\0' &&
            (rc = pk_config_set_thin(next, pk_ff_setting_names[k], values[k], why)) != 0)
            return pk_seterr(errbuf, rc, "FILTER_FILE=\"%s\": %s", a->cfg->filter_file, why);
    return 0;
}

/* The strings of next that point into values, moved to the agent's own copy of them. */
static void
keep_settings(struct agent *a, struct pk_config *next,
              char values[PK_FF_SETTINGS][PK_FILTER_FILE_VALUE_MAX])
{
    memcpy(a->ff_values, values, sizeof(a->ff_values));
    if (next->relay_compression == values[PK_FF_COMPRESSION])
        next->relay_compression = a->ff_values[PK_FF_COMPRESSION];
    if (next->sample == values[PK_FF_SAMPLE])
        next->sample = a->ff_values[PK_FF_SAMPLE];
    a->own_cfg = *next;
    /* Control's central sampling still narrows the file's (control.c). */
    a->hello.sample_n = pk_control_sample_n(next->sample_n, a->ctl.sample_n);
}

const char *
pk_agent_own_filter(const struct agent *a)
{
    return a->cfg->filter_file[0] != '\0' ? a->user_filter : a->cfg->filter;
}

int
pk_agent_user_filter(struct agent *a, const char **filter, char *errbuf)
{
    static struct pk_filter_file ff; /* 4 KiB: loop thread only */
    char values[PK_FF_SETTINGS][PK_FILTER_FILE_VALUE_MAX];
    struct pk_config next;
    int rc;

    *filter = a->cfg->filter;
    if (a->cfg->filter_file[0] == '\0')
        return 0;
    if ((rc = pk_filter_file_read(a->cfg->filter_file, &ff, errbuf)) != 0 ||
        (rc = settings_of(a, &ff, &next, values, errbuf)) != 0)
        return rc;
    keep_settings(a, &next, values);
    memcpy(a->user_filter, ff.filter, sizeof(a->user_filter));
    *filter = a->user_filter;
    return 0;
}

static int
same_settings(const struct pk_config *x, const struct pk_config *y)
{
    return x->compression == y->compression && x->compression_level == y->compression_level &&
           x->relay_rate_limit == y->relay_rate_limit && x->sample_n == y->sample_n;
}

/* The new filter and settings: 0; or -errno, a sentence in errbuf, and nothing changed. A codec
 * that cannot be made after the filter changed is logged, and the settings stay. */
static int
apply(struct agent *a, const struct pk_filter_file *ff, struct pk_config *next,
      char values[PK_FF_SETTINGS][PK_FILTER_FILE_VALUE_MAX], char *errbuf)
{
    int rc;

    pk_relay_flush(a); /* what the open batch holds goes as it was captured */
    if (strcmp(ff->filter, a->user_filter) != 0) {
        if ((rc = pk_capture_set_filter(a->cap, ff->filter, pk_agent_exclude(a), errbuf)) != 0)
            return rc;
        memcpy(a->user_filter, ff->filter, sizeof(a->user_filter));
        a->filter = pk_capture_filter(a->cap);
    }
    if (pk_relay_retune(a, next) != 0) {
        pk_warn_with(&(struct pk_log_fields){.event = "filter_reload_failed"},
                     "SIGHUP: out of memory for RELAY_COMPRESSION=%s: the settings in force stay",
                     next->relay_compression);
        return 0;
    }
    keep_settings(a, next, values);
    return 0;
}

/*
 * FILTER_FILE again: a file that cannot be read, a setting that is invalid or a filter that
 * does not compile is logged and what is in force stays. A new filter or sampling applies at
 * once, and a new hello tells the collector, which describes the source's interface again.
 */
static void
reload_filter(struct agent *a)
{
    static struct pk_filter_file ff; /* 4 KiB: loop thread only */
    const char *path = a->cfg->filter_file;
    char values[PK_FF_SETTINGS][PK_FILTER_FILE_VALUE_MAX], errbuf[PK_ERRBUF_SIZE];
    struct pk_config next;

    if (pk_filter_file_read(path, &ff, errbuf) != 0 || settings_of(a, &ff, &next, values, errbuf) != 0 ||
        (strcmp(ff.filter, a->user_filter) != 0 && a->cap == NULL &&
         pk_seterr(errbuf, -ENODEV, "no live capture") != 0)) {
        pk_warn_with(&(struct pk_log_fields){.event = "filter_reload_failed"},
                     "SIGHUP: %s; the filter in force stays: \"%s\"", errbuf, a->filter);
        return;
    }
    if (strcmp(ff.filter, a->user_filter) == 0 && same_settings(&next, a->cfg)) {
        pk_info_with(&(struct pk_log_fields){.event = "reload"},
                     "SIGHUP: FILTER_FILE=\"%s\" read again: the same filter \"%s\" and settings",
                     path, a->filter);
        return;
    }
    if (apply(a, &ff, &next, values, errbuf) != 0) {
        pk_warn_with(&(struct pk_log_fields){.event = "filter_reload_failed"},
                     "SIGHUP: FILTER_FILE=\"%s\": %s; the filter in force stays: \"%s\"", path,
                     errbuf, a->filter);
        return;
    }
    pk_info_with(&(struct pk_log_fields){.event = "filter_changed"},
                 "SIGHUP: FILTER_FILE=\"%s\": the filter is now \"%s\" (in force: \"%s\"), "
                 "RELAY_COMPRESSION=%s, RELAY_RATE_LIMIT=%llu, SAMPLE=1/%u; sending a new hello",
                 path, a->user_filter, a->filter, a->cfg->relay_compression,
                 (unsigned long long)a->cfg->relay_rate_limit, (unsigned)a->cfg->sample_n);
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
