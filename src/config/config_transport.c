/*
 * The transports' rows of the configuration table (transport.h, struct pk_setting): parsed with
 * the table's own parser into each transport's settings block, listed in --help, and turned
 * into the chosen transport's config.
 */
#include "config.h"
#include "config_int.h"
#include "pcktr.h"
#include "transport.h"

#include <errno.h>
#include <string.h>

/* A transport's row as a row of this table (its offset is into the transport's block). */
static struct cfg_var
setting_var(const struct pk_setting *s)
{
    static const enum cfg_type types[] = {[PK_SETTING_STRING] = CFG_STRING,
        [PK_SETTING_UINT] = CFG_UINT, [PK_SETTING_SIZE] = CFG_SIZE,
        [PK_SETTING_DURATION] = CFG_DURATION, [PK_SETTING_BOOL] = CFG_BOOL};

    return (struct cfg_var){s->name, types[s->type], s->offset, s->def, NULL, s->min, s->max,
                            s->help};
}

/*
 * Every transport's rows, into its settings block (the chosen one's into cfg, the others' into
 * a scratch block: a bad value is an error whichever transport is chosen). A row that belongs
 * to its transport alone must not be set in its mode while another is chosen.
 */
static int
parse_transport_settings(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf)
{
    _Alignas(max_align_t) unsigned char scratch[PK_TRANSPORT_SETTINGS_MAX];
    enum pk_transport_role role = cfg->mode == PK_MODE_CAPTURE ? PK_TRANSPORT_SENDER
                                                               : PK_TRANSPORT_RECEIVER;
    const struct pk_transport_ops *ops;
    int rc;

    for (size_t i = 0; (ops = pk_transport_at(i)) != NULL; i++) {
        unsigned char *block = ops == cfg->transport ? cfg->transport_settings : scratch;
        if (ops->settings_size > PK_TRANSPORT_SETTINGS_MAX)
            return pk_seterr(errbuf, -EOVERFLOW, "transport %s: its settings (%zu bytes) exceed "
                             "PK_TRANSPORT_SETTINGS_MAX", ops->name, ops->settings_size);
        memset(block, 0, PK_TRANSPORT_SETTINGS_MAX);
        for (size_t j = 0; j < ops->nsettings; j++) {
            const struct pk_setting *s = &ops->settings[j];
            struct cfg_var v = setting_var(s);
            const char *value = getenv_fn(s->name);
            if (value == NULL)
                value = s->def;
            if (value == NULL)
                continue; /* unset, no default: the field stays 0 (NULL) */
            if ((rc = pk_config_parse_var(block, &v, value, errbuf)) != 0)
                return rc;
            if (ops != cfg->transport && s->only_here != NULL && s->role == role &&
                value[0] != '\0')
                return pk_seterr(errbuf, -EINVAL, "%s is set but RELAY_TRANSPORT=\"%s\" %s",
                                 s->name, cfg->relay_transport, s->only_here);
        }
    }
    return 0;
}

/*
 * FORWARD_ENDPOINT: SCHEME://... names the transport (its RELAY_TRANSPORT value), which must have
 * an endpoint syntax of its own; its rows are parsed again into cfg->forward_settings.
 */
static int
check_forward(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf)
{
    const char *uri = cfg->forward_endpoint, *colon;
    char name[32];
    int rc;

    if (uri == NULL || uri[0] == '\0')
        return 0;
    colon = strstr(uri, "://");
    if (cfg->mode != PK_MODE_COLLECT || colon == NULL || (size_t)(colon - uri) >= sizeof(name))
        return pk_seterr(errbuf, -EINVAL, "FORWARD_ENDPOINT=\"%s\" is invalid: %s", uri,
                         cfg->mode != PK_MODE_COLLECT ? "MODE=collect only"
                                                      : "expected SCHEME://..., e.g. kafka://");
    memcpy(name, uri, (size_t)(colon - uri));
    name[colon - uri] = '\0';
    cfg->forward = pk_transport_find(name);
    if (cfg->forward == NULL || cfg->forward->parse_endpoint == NULL)
        return pk_seterr(errbuf, -EINVAL, "FORWARD_ENDPOINT=\"%s\" is invalid: no transport "
                         "forwards to %s://", uri, name);
    memset(cfg->forward_settings, 0, sizeof(cfg->forward_settings));
    for (size_t j = 0; j < cfg->forward->nsettings; j++) {
        const struct pk_setting *s = &cfg->forward->settings[j];
        struct cfg_var v = setting_var(s);
        const char *value = getenv_fn(s->name) ? getenv_fn(s->name) : s->def;
        if (value != NULL && (rc = pk_config_parse_var(cfg->forward_settings, &v, value, errbuf)))
            return rc;
    }
    return 0;
}

/* RELAY_TRANSPORT names a transport; its rows (and those of the others) parse. */
int
pk_config_check_transport(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf)
{
    if ((cfg->transport = pk_transport_find(cfg->relay_transport)) == NULL) {
        char names[128];
        pk_transport_names(names, sizeof(names));
        return pk_seterr(errbuf, -EINVAL, "RELAY_TRANSPORT=\"%s\" is invalid; accepted: %s",
                         cfg->relay_transport, names);
    }
    int rc = parse_transport_settings(cfg, getenv_fn, errbuf);

    return rc != 0 ? rc : check_forward(cfg, getenv_fn, errbuf);
}

int
pk_config_transport(const struct pk_config *cfg, struct pk_transport_config **out, char *errbuf)
{
    *out = NULL;
    if (cfg->transport->configure == NULL)
        return 0;
    return cfg->transport->configure(cfg->transport_settings,
                                     cfg->mode == PK_MODE_CAPTURE ? PK_TRANSPORT_SENDER
                                                                  : PK_TRANSPORT_RECEIVER,
                                     out, errbuf);
}

void
pk_config_transport_free(const struct pk_config *cfg, struct pk_transport_config *tc)
{
    if (tc != NULL && cfg->transport->config_free != NULL)
        cfg->transport->config_free(tc);
}

/* Each transport's own rows, after RELAY_TRANSPORT. */
void
pk_config_print_transport_rows(FILE *out)
{
    const struct pk_transport_ops *ops;

    for (size_t i = 0; (ops = pk_transport_at(i)) != NULL; i++) {
        for (size_t j = 0; j < ops->nsettings; j++) {
            const struct pk_setting *s = &ops->settings[j];
            fprintf(out, "  %-20s %s\n", s->name, s->help);
            pk_config_print_default(out, s->def);
        }
    }
}
