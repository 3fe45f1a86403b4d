/*
 * The parser of the configuration table (config_vars.c): environment to struct pk_config, the
 * exit-2 lines, and --help, all from the rows.
 */
#include "config.h"
#include "config_int.h"
#include "text.h"
#include "frame.h"
#include "log.h"
#include "pcktr.h"
#include "transport.h"
#include "units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value a (core) variable has when the environment does not set it: its row's default. */
static const char *
value_or_default(pk_getenv_fn getenv_fn, const char *name)
{
    const char *value = getenv_fn(name);

    for (size_t i = 0; value == NULL && i < pk_config_nvars; i++)
        if (strcmp(pk_config_vars[i].name, name) == 0)
            value = pk_config_vars[i].def;
    return value;
}

static int
choice_index(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    int idx = 0;

    for (const char *p = choices;; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && strncmp(p, value, len) == 0)
            return idx;
        if (bar == NULL)
            return -1;
        p = bar + 1;
    }
}

static int
bad_value(char *errbuf, const struct cfg_var *v, const char *value, const char *accepted)
{
    return pk_seterr(errbuf, -EINVAL, "%s=\"%s\" is invalid; accepted: %s", v->name, value,
                     accepted);
}

int
pk_config_parse_var(void *base, const struct cfg_var *v, const char *value, char *errbuf)
{
    char *field = (char *)base + v->offset;
    char accepted[160];
    uint64_t num;
    int rc, b;

    switch (v->type) {
    case CFG_STRING:
        *(const char **)field = value;
        return 0;
    case CFG_CHOICE:
        rc = choice_index(v->choices, value);
        if (rc < 0)
            return bad_value(errbuf, v, value, v->choices);
        *(int *)field = rc;
        return 0;
    case CFG_BOOL:
        if (pk_parse_bool(value, &b) != 0)
            return bad_value(errbuf, v, value, "true|false|1|0|yes|no|on|off");
        *(int *)field = b;
        return 0;
    case CFG_UINT:
        rc = pk_parse_uint(value, &num);
        snprintf(accepted, sizeof(accepted), "an integer from %llu to %llu",
                 (unsigned long long)v->min, (unsigned long long)v->max);
        break;
    case CFG_SIZE:
        rc = pk_parse_size(value, &num);
        snprintf(accepted, sizeof(accepted), "a size in bytes from %llu to %llu (K, M, G suffixes)",
                 (unsigned long long)v->min, (unsigned long long)v->max);
        break;
    case CFG_DURATION:
        rc = pk_parse_duration_ms(value, &num);
        snprintf(accepted, sizeof(accepted), "a duration from %llums to %llums (ms, s, m, h)",
                 (unsigned long long)v->min, (unsigned long long)v->max);
        break;
    default:
        return -EINVAL;
    }
    if (rc != 0 || num < v->min || num > v->max)
        return bad_value(errbuf, v, value, accepted);
    *(uint64_t *)field = num;
    return 0;
}

static int
parse_endpoint_var(const char *name, const char *value, struct pk_endpoint *ep, int addrport,
                   char *errbuf)
{
    char why[PK_ERRBUF_SIZE];
    int rc = addrport ? pk_addrport_parse(value, ep, why) : pk_endpoint_parse(value, ep, why);

    if (rc != 0)
        return pk_seterr(errbuf, -EINVAL, "%s=\"%s\" is invalid (%s); accepted: %s", name, value,
                         why, addrport ? "[HOST]:PORT, e.g. :9108, 127.0.0.1:9108, [::1]:9108, or empty"
                                       : "tcp://HOST:PORT, e.g. tcp://collector:7386, tcp://[::1]:7386");
    return 0;
}

/* An endpoint of the transport's own syntax (ops->parse_endpoint), else tcp://HOST:PORT; only
 * the endpoint of this mode (the other one's default is another transport's syntax). */
static int
parse_relay_endpoint(const struct pk_config *cfg, const char *name, const char *value,
                     struct pk_endpoint *ep, char *errbuf)
{
    char why[PK_ERRBUF_SIZE];

    if (cfg->transport->parse_endpoint == NULL)
        return parse_endpoint_var(name, value, ep, 0, errbuf);
    if ((cfg->mode == PK_MODE_CAPTURE) != (strcmp(name, "RELAY_ENDPOINT") == 0)) {
        *ep = (struct pk_endpoint){.host = "unused", .port = 1};
        return 0;
    }
    if (cfg->transport->parse_endpoint(value, ep, why) != 0)
        return pk_seterr(errbuf, -EINVAL, "%s=\"%s\" is invalid for RELAY_TRANSPORT=%s (%s)", name,
                         value, cfg->relay_transport, why);
    return 0;
}

/* COLLECT_ALLOW, and the endpoints: the relay's, the collector's, the HTTP server's. */
static int
parse_addresses(struct pk_config *cfg, char *errbuf)
{
    char why[PK_ERRBUF_SIZE];
    int rc;

    if (pk_cidr_parse_list(cfg->collect_allow, cfg->allow, PK_ALLOW_MAX, &cfg->nallow, why) != 0)
        return pk_seterr(errbuf, -EINVAL,
                         "COLLECT_ALLOW=\"%s\" is invalid (%s); accepted: comma-separated IPv4 "
                         "or IPv6 addresses or CIDRs (at most %d), e.g. 10.0.0.0/8,::1",
                         cfg->collect_allow, why, PK_ALLOW_MAX);
    if ((rc = parse_relay_endpoint(cfg, "RELAY_ENDPOINT", cfg->relay_endpoint, &cfg->relay_ep,
                                   errbuf)) != 0)
        return rc;
    if (cfg->relay_ep.host[0] == '\0')
        return pk_seterr(errbuf, -EINVAL,
                         "RELAY_ENDPOINT=\"%s\" is invalid ('*' is for COLLECT_ENDPOINT); accepted: "
                         "tcp://HOST:PORT",
                         cfg->relay_endpoint);
    if ((rc = parse_relay_endpoint(cfg, "COLLECT_ENDPOINT", cfg->collect_endpoint,
                                   &cfg->collect_ep, errbuf)) != 0)
        return rc;
    if (cfg->metrics_addrport[0] != '\0' &&
        (rc = parse_endpoint_var("METRICS_ADDRPORT", cfg->metrics_addrport, &cfg->metrics_ep, 1,
                                 errbuf)) != 0)
        return rc;
    return 0;
}

/* SERVE_*: the listeners and connections with their queries, and SERVE_ALLOW. */
static int
parse_serve(struct pk_config *cfg, char *errbuf)
{
    static const char *const formats[] = {"pcap", "pcap-ns", "pcapng"};
    enum pk_output_format def;
    char why[PK_ERRBUF_SIZE];

    pk_format_reader_parse(formats[cfg->serve_format], &def);
    if (pk_serve_endpoint_list(cfg->serve_endpoint, 1, def, cfg->serve_listen,
                               &cfg->nserve_listen, why) != 0)
        return pk_seterr(errbuf, -EINVAL, "SERVE_ENDPOINT is invalid: %.200s; accepted: "
                         "tcp://ADDR:PORT[?filter=BPF&format=pcap|pcap-ns|pcapng], comma-separated",
                         why);
    if (pk_serve_endpoint_list(cfg->serve_connect, 0, def, cfg->serve_dial, &cfg->nserve_dial,
                               why) != 0)
        return pk_seterr(errbuf, -EINVAL, "SERVE_CONNECT is invalid: %.200s; accepted: "
                         "HOST:PORT[?filter=BPF&format=pcap|pcap-ns|pcapng], comma-separated",
                         why);
    if (pk_cidr_parse_list(cfg->serve_allow_text, cfg->serve_allow, PK_ALLOW_MAX,
                           &cfg->nserve_allow, why) != 0)
        return pk_seterr(errbuf, -EINVAL, "SERVE_ALLOW=\"%s\" is invalid (%s); accepted: "
                         "comma-separated IPv4 or IPv6 addresses or CIDRs (at most %d)",
                         cfg->serve_allow_text, why, PK_ALLOW_MAX);
    if (pk_cidr_parse_list(cfg->control_allow_text, cfg->control_allow, PK_ALLOW_MAX,
                           &cfg->ncontrol_allow, why) != 0)
        return pk_seterr(errbuf, -EINVAL, "CONTROL_ALLOW=\"%s\" is invalid (%s); accepted: "
                         "comma-separated IPv4 or IPv6 addresses or CIDRs (at most %d)",
                         cfg->control_allow_text, why, PK_ALLOW_MAX);
    return 0;
}

/* What an agent reads (a device or READ_FILE, not both) and where the collector writes. */
static int
check_source_and_output(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf)
{
    const char *device_env;

    device_env = getenv_fn("DEVICE");
    if (cfg->read_file != NULL && cfg->read_file[0] == '\0')
        cfg->read_file = NULL;
    if (cfg->read_file != NULL && device_env != NULL && device_env[0] != '\0')
        return pk_seterr(errbuf, -EINVAL,
                         "DEVICE=\"%s\" and READ_FILE=\"%s\" are both set; accepted: one of them "
                         "(READ_FILE replays a file, DEVICE captures live)",
                         device_env, cfg->read_file);
    if (cfg->read_file != NULL && cfg->mode != PK_MODE_CAPTURE)
        return pk_seterr(errbuf, -EINVAL, "READ_FILE=\"%s\" is set with MODE=collect; accepted: "
                         "READ_FILE only with MODE=capture", cfg->read_file);
    if (cfg->output[0] == '\0')
        return pk_seterr(errbuf, -EINVAL, "OUTPUT=\"\" is invalid; accepted: - (stdout), none or a file path");
    if (cfg->device[0] == '\0')
        return pk_seterr(errbuf, -EINVAL, "DEVICE=\"\" is invalid; accepted: an interface name "
                         "(see tcpdump -D)");
    return 0;
}

/* SOURCE_STALE_AFTER and SOURCE_GONE_AFTER agree; SOURCE_NAME, by default HOST:DEVICE. */
static int
check_source_name(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf)
{
    char host[256];

    if (cfg->gone_after_ms < cfg->stale_after_ms) {
        return pk_seterr(errbuf, -EINVAL,
                         "SOURCE_GONE_AFTER=\"%s\" is shorter than SOURCE_STALE_AFTER=\"%s\"; "
                         "accepted: at least SOURCE_STALE_AFTER",
                         value_or_default(getenv_fn, "SOURCE_GONE_AFTER"),
                         value_or_default(getenv_fn, "SOURCE_STALE_AFTER"));
    }
    if (cfg->source_name == NULL) {
        const char *what = cfg->read_file ? cfg->read_file : cfg->device;
        const char *slash = strrchr(what, '/');
        if (gethostname(host, sizeof(host)) != 0)
            strcpy(host, "unknown");
        host[sizeof(host) - 1] = '\0';
        snprintf(cfg->source_name_buf, sizeof(cfg->source_name_buf), "%s:%s", host,
                 slash ? slash + 1 : what);
        cfg->source_name = cfg->source_name_buf;
    }
    if (cfg->source_name[0] == '\0' || strlen(cfg->source_name) > PK_FRAME_NAME_MAX)
        return pk_seterr(errbuf, -EINVAL,
                         "SOURCE_NAME=\"%s\" is invalid; accepted: 1 to 255 bytes",
                         cfg->source_name);
    return 0;
}

static int
load(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf)
{
    const char *value;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < pk_config_nvars; i++) {
        value = getenv_fn(pk_config_vars[i].name);
        if (value == NULL)
            value = pk_config_vars[i].def;
        if (value == NULL)
            continue;
        rc = pk_config_parse_var(cfg, &pk_config_vars[i], value, errbuf);
        if (rc != 0)
            return rc;
    }
    if ((rc = pk_config_check_transport(cfg, getenv_fn, errbuf)) != 0)
        return rc;
    if ((rc = parse_addresses(cfg, errbuf)) != 0)
        return rc;
    if ((rc = check_source_and_output(cfg, getenv_fn, errbuf)) != 0)
        return rc;
    if ((rc = parse_serve(cfg, errbuf)) != 0)
        return rc;
    if ((rc = pk_config_check_rotate(cfg, errbuf)) != 0)
        return rc;
    if ((rc = pk_config_check_thin(cfg, errbuf)) != 0)
        return rc;
    return check_source_name(cfg, getenv_fn, errbuf);
}

void
pk_config_print_default(FILE *out, const char *def)
{
    fprintf(out, "  %-20s default: %s\n", "", def == NULL ? "(unset)"
                                            : def[0] == '\0' ? "(empty)"
                                                             : def);
}


void
pk_config_print_help(FILE *out)
{
    fprintf(out,
            "Usage: pcktr [--help | --version | keygen]\n"
            "\n"
            "packeteur relays captured packets from many hosts to one collector, which writes\n"
            "them as one pcap stream on stdout:\n"
            "  MODE=collect pcktr | tcpdump -n -r -          # on the collector host\n"
            "  MODE=capture DEVICE=eth0 RELAY_ENDPOINT=tcp://collector:7386 pcktr   # on each host\n"
            "\n"
            "`pcktr keygen` prints a new CURVE key pair for an encrypted relay.\n"
            "All configuration is in environment variables:\n\n");
    for (size_t i = 0; i < pk_config_nvars; i++) {
        const struct cfg_var *v = &pk_config_vars[i];
        fprintf(out, "  %-20s %s\n", v->name, v->help);
        if (v->choices != NULL)
            fprintf(out, "  %-20s one of %s\n", "", v->choices);
        if (strcmp(v->name, "RELAY_TRANSPORT") == 0) {
            char names[128];
            pk_transport_names(names, sizeof(names));
            fprintf(out, "  %-20s one of %s\n", "", names);
        }
        pk_config_print_default(out, v->def);
        if (strcmp(v->name, "RELAY_TRANSPORT") == 0)
            pk_config_print_transport_rows(out);
    }
    fprintf(out, "\nExit status: 0 clean exit, 1 runtime failure, 2 invalid configuration.\n"
                 "Signals: SIGINT/SIGTERM flush queued data (up to LINGER) and exit 0.\n");
}

int
pk_config_load(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf)
{
    int rc = load(cfg, getenv_fn, errbuf);

    /*
     * A refusal is one line. Messages quote values, and some values are decoded first (a
     * SERVE_CONNECT filter's %0a is a newline; the fuzzer found it): control characters in
     * the message become '?', wherever they came from.
     */
    if (rc != 0) {
        char clean[PK_ERRBUF_SIZE];
        pk_text_copy_clean(clean, sizeof(clean), errbuf, strlen(errbuf));
        memcpy(errbuf, clean, strlen(clean) + 1);
    }
    return rc;
}
