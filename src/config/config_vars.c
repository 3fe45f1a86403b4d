/*
 * The configuration table: a row per core variable, with its parser type, default, bounds and
 * help text. Adding a variable is adding one row here; --help, the README table test and the
 * error messages all follow from the row (config.c). A transport's rows live in its folder.
 */
#include "config_int.h"
#include "pcktr.h"

#include <stddef.h>

#define F(field) offsetof(struct pk_config, field)

const struct cfg_var pk_config_vars[] = {
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

const size_t pk_config_nvars = PK_ARRAY_LEN(pk_config_vars);
