/*
 * The configuration table and its parser. Adding a variable is adding one row here; --help,
 * the README table test and the error messages all follow from the row.
 */
#include "config.h"
#include "config_int.h"
#include "frame.h"
#include "log.h"
#include "pcktr.h"
#include "transport.h"
#include "units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F(field) offsetof(struct pk_config, field)

static const struct cfg_var vars[] = {
    {"MODE", CFG_CHOICE, F(mode), "capture", "capture|collect", 0, 0,
     "capture: relay packets from DEVICE or READ_FILE; collect: merge relayed packets to stdout"},
    {"DEVICE", CFG_STRING, F(device), "lo", NULL, 0, 0,
     "capture: network interface to capture on (\"any\" for all)"},
    {"FILTER", CFG_STRING, F(filter), "", NULL, 0, 0,
     "capture: BPF filter (tcpdump syntax); the relay's own connection is always excluded"},
    {"READ_FILE", CFG_STRING, F(read_file), NULL, NULL, 0, 0,
     "capture: replay this pcap/pcapng file instead of a live DEVICE, then exit"},
    {"RELAY_ENDPOINT", CFG_STRING, F(relay_endpoint), "tcp://localhost:7386", NULL, 0, 0,
     "capture: collector to send to, tcp://HOST:PORT (IPv6 as tcp://[::1]:PORT)"},
    {"COLLECT_ENDPOINT", CFG_STRING, F(collect_endpoint), "tcp://localhost:7386", NULL, 0, 0,
     "collect: address to listen on, tcp://HOST:PORT (tcp://*:PORT for every address)"},
    {"RELAY_TRANSPORT", CFG_STRING, F(relay_transport), "zmq", NULL, 0, 0,
     "transport between agents and collector (both sides must agree)"},
    {"METRICS_ADDRPORT", CFG_STRING, F(metrics_addrport), ":9108", NULL, 0, 0,
     "HTTP /metrics and /status listen address, [HOST]:PORT; empty disables the server"},
    {"SOURCE_NAME", CFG_STRING, F(source_name), NULL, NULL, 0, 0,
     "capture: name of this source at the collector (default HOSTNAME:DEVICE)"},
    {"SNAPLEN", CFG_UINT, F(snaplen), "262144", NULL, 1, 262144,
     "capture: bytes kept of each packet"},
    {"PROMISC", CFG_BOOL, F(promisc), "true", NULL, 0, 0,
     "capture: put DEVICE in promiscuous mode"},
    {"BUFFER_SIZE", CFG_SIZE, F(buffer_size), "16M", NULL, 65536, 1ULL << 31,
     "capture: kernel capture buffer in bytes (K/M/G suffixes)"},
    {"BATCH_BYTES", CFG_SIZE, F(batch_bytes), "192K", NULL, 1024, 16ULL << 20,
     "capture: largest relay message (a packet larger than it goes alone); a batch is sent "
     "when full or after each wake-up"},
    {"RELAY_QUEUE", CFG_UINT, F(relay_queue), "64", NULL, 1, 1000000,
     "capture: relay messages queued while the collector is slow or away (at most RELAY_QUEUE "
     "x BATCH_BYTES: 12M by default); then packets are dropped and counted (READ_FILE waits "
     "instead)"},
    /* Thin links: compression, a rate cap and flow sampling at the agent (thin.c parses). */
    {"RELAY_COMPRESSION", CFG_STRING, F(relay_compression), "none", NULL, 0, 0,
     "capture: none, lz4 or zstd[:LEVEL] (1-19, default 3): each batch compressed on its own"},
    {"RELAY_RATE_LIMIT", CFG_SIZE, F(relay_rate_limit), "0", NULL, 0, 1ULL << 40,
     "capture: bytes per second on the wire, after compression (K/M/G); a batch over it is "
     "not sent, counted as rate limited (READ_FILE waits instead); 0: no limit"},
    {"FILTER_FILE", CFG_STRING, F(filter_file), "", NULL, 0, 0,
     "capture (live): a file holding the BPF filter, and optionally RELAY_COMPRESSION=, "
     "RELAY_RATE_LIMIT=, SAMPLE= lines, read at start and again on SIGHUP (what does not "
     "compile or parse is logged and what is in force stays); instead of FILTER"},
    {"SAMPLE", CFG_STRING, F(sample), "1/1", NULL, 0, 0,
     "capture: 1/N keeps the packets of 1 flow in N (a hash of addresses, protocol and ports, "
     "both directions alike); the rest are counted as sampled out; 1/1: every packet"},
    {"CONTROL", CFG_BOOL, F(control), "on", NULL, 0, 0,
     "capture: on: apply what the collector's control plane sets (an extra filter ANDed with "
     "FILTER, pause, SAMPLE and RELAY_RATE_LIMIT, narrowing only, docs/CONTROL.md); off: "
     "ignore control entirely"},
    {"HEARTBEAT_INTERVAL", CFG_DURATION, F(heartbeat_ms), "1s", NULL, 100, 3600000,
     "capture: how often hello and stats messages are sent"},
    {"LINGER", CFG_DURATION, F(linger_ms), "2s", NULL, 0, 600000,
     "on SIGINT/SIGTERM or end of READ_FILE: how long to keep flushing queued data"},
    {"RELAY_TIMEOUT", CFG_DURATION, F(relay_timeout_ms), "10s", NULL, 100, 86400000,
     "capture with READ_FILE: give up (exit 1) when the collector takes nothing for this long"},
    {"OUTPUT_BUFFER", CFG_SIZE, F(output_buffer), "16M", NULL, 65536, 1ULL << 31,
     "collect: bytes queued for a slow stdout reader before agents are made to wait"},
    {"OUTPUT_FORMAT", CFG_CHOICE, F(output_format), "pcap", "pcap|pcapng", 0, 0,
     "collect: pcap (one link type, for tcpdump) or pcapng (an interface per source, any link "
     "types, interface statistics)"},
    {"OUTPUT", CFG_STRING, F(output), "-", NULL, 0, 0,
     "collect: where the capture stream goes: - for stdout, a file path, or none (readers "
     "only: a hub; ./none for a file of that name)"},
    /* Rotation of OUTPUT (issue 15): a series of files, each completed whole. */
    {"OUTPUT_ROTATE", CFG_STRING, F(output_rotate), "", NULL, 0, 0,
     "collect: with OUTPUT a file path, start a new file at this size (100M), at every multiple "
     "of this interval (1h), or both (100M,1h); completed files are OUTPUT's name with the UTC "
     "time they started (site-20260102T150405.123Z.pcap); empty: one file"},
    {"OUTPUT_KEEP", CFG_UINT, F(output_keep), "0", NULL, 0, 1000000,
     "collect (OUTPUT_ROTATE): completed files kept; older ones are deleted; 0: keep them all"},
    {"MERGE_WINDOW", CFG_DURATION, F(merge_window_ms), "0", NULL, 0, 60000,
     "collect: hold packets this long to write them in timestamp order across sources (0: in "
     "arrival order, lowest latency)"},
    {"SOURCE_STALE_AFTER", CFG_DURATION, F(stale_after_ms), "5s", NULL, 100, 86400000,
     "collect: a source silent this long (or three of its heartbeat intervals, if longer) is "
     "\"stale\" in /status and /metrics"},
    {"SOURCE_GONE_AFTER", CFG_DURATION, F(gone_after_ms), "60s", NULL, 100, 604800000,
     "collect: a source silent this long (or that said goodbye) is \"gone\""},
    {"COLLECT_ALLOW", CFG_STRING, F(collect_allow), "", NULL, 0, 0,
     "collect: comma-separated addresses or CIDRs (IPv4, IPv6) allowed to send, e.g. "
     "10.0.0.0/8,2001:db8::/32; others are refused and counted; empty: any address"},
    /* Readers of the merged stream: PCAP-over-IP listeners and connections, who may read. */
    {"SERVE_ENDPOINT", CFG_STRING, F(serve_endpoint), "", NULL, 0, 0,
     "collect: comma-separated PCAP-over-IP listeners, tcp://ADDR:PORT (e.g. tcp://*:57012), "
     "each optionally ?filter=BPF&format=F (URL-encoded); every reader gets a header and every "
     "packet from then on; empty: none"},
    {"SERVE_FORMAT", CFG_CHOICE, F(serve_format), "pcap", "pcap|pcap-ns|pcapng", 0, 0,
     "collect: readers' format unless their endpoint says: pcap (microseconds, the PCAP-over-IP "
     "convention), pcap-ns or pcapng"},
    {"SERVE_CONNECT", CFG_STRING, F(serve_connect), "", NULL, 0, 0,
     "collect: comma-separated HOST:PORT PCAP-over-IP listeners to send the stream to "
     "(redialled with backoff), each optionally ?filter=BPF&format=F; empty: none"},
    {"SERVE_BUFFER", CFG_SIZE, F(serve_buffer), "4M", NULL, 65536, 1ULL << 30,
     "collect: bytes queued per reader; a reader too slow loses whole packets (counted), never "
     "slowing OUTPUT or the others. Readers hold at most SERVE_MAX_READERS x SERVE_BUFFER"},
    {"SERVE_ALLOW", CFG_STRING, F(serve_allow_text), "127.0.0.0/8,::1", NULL, 0, 0,
     "collect: comma-separated addresses or CIDRs allowed to read the stream; others are "
     "refused and counted; empty: loopback only"},
    {"SERVE_MAX_READERS", CFG_UINT, F(serve_max_readers), "16", NULL, 1, 1024,
     "collect: readers at once (SERVE_ENDPOINT, SERVE_CONNECT and GET /stream together); more "
     "are refused and counted"},
    /* The control plane (docs/CONTROL.md): who may change what the agents capture. */
    {"CONTROL_TOKEN_FILE", CFG_STRING, F(control_token_file), "", NULL, 0, 0,
     "collect: a file holding the control API's token (requests carry Authorization: Bearer "
     "TOKEN); empty: the API is off (404)"},
    {"CONTROL_ALLOW", CFG_STRING, F(control_allow_text), "127.0.0.0/8,::1", NULL, 0, 0,
     "collect: comma-separated addresses or CIDRs the control API takes requests from; others "
     "are refused (403) and counted; empty: loopback only"},
    {"CONTROL_STATE", CFG_STRING, F(control_state), "", NULL, 0, 0,
     "collect: a file where the desired control state is kept (written atomically at each "
     "change, read at start); empty: kept in memory only"},
    /* Forwarding (issue 16): what the collector receives, into another transport's log. */
    {"FORWARD_ENDPOINT", CFG_STRING, F(forward_endpoint), "", NULL, 0, 0,
     "collect: also write every message received into this endpoint of a transport that has "
     "one of its own (kafka://BROKERS/TOPIC), in its record format; full: dropped and counted, "
     "never slowing OUTPUT; empty: none"},
    {"RUN_AS", CFG_STRING, F(run_as), "", NULL, 0, 0,
     "after opening the capture device, output and sockets: switch to this user and its "
     "groups (like tcpdump -Z); empty: stay as started"},
    {"LOG_LEVEL", CFG_CHOICE, F(log_level), "info", "debug|info|warn|error", 0, 0,
     "least severe log level written to stderr"},
    {"LOG_FORMAT", CFG_CHOICE, F(log_format), "text", "text|json", 0, 0,
     "stderr log format: text for people, json for one object per line"},
};

#undef F

/* The value a (core) variable has when the environment does not set it: its row's default. */
static const char *
value_or_default(pk_getenv_fn getenv_fn, const char *name)
{
    const char *value = getenv_fn(name);

    for (size_t i = 0; value == NULL && i < PK_ARRAY_LEN(vars); i++)
        if (strcmp(vars[i].name, name) == 0)
            value = vars[i].def;
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

int
pk_config_load(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf)
{
    const char *value;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < PK_ARRAY_LEN(vars); i++) {
        value = getenv_fn(vars[i].name);
        if (value == NULL)
            value = vars[i].def;
        if (value == NULL)
            continue;
        rc = pk_config_parse_var(cfg, &vars[i], value, errbuf);
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
    for (size_t i = 0; i < PK_ARRAY_LEN(vars); i++) {
        const struct cfg_var *v = &vars[i];
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
