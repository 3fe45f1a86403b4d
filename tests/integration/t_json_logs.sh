# LOG_FORMAT=json: every line of both processes is one JSON object a strict parser takes (even
# with a source name of control and non-UTF-8 bytes), with the fields docs/LOGGING.md promises;
# each state change of a source (new, stale, gone, up again, goodbye) is logged exactly once
# (heartbeats every 200 ms against a 2 s stale limit: no flapping even on a loaded machine).
source "$(dirname "$0")/lib.sh"

port=$(free_port); udp=$(free_port); mcol=$(free_port)
NAME=$'evil\e[31m\xff-agent' # an escape sequence and a byte that is not UTF-8
SHOWN='evil?[31m?-agent'     # what the collector must make of it

LOG_FORMAT=json MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port \
    METRICS_ADDRPORT=127.0.0.1:$mcol SOURCE_STALE_AFTER=2s SOURCE_GONE_AFTER=3s \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector '"collecting on'
LOG_FORMAT=json MODE=capture FILTER="udp dst port $udp" SOURCE_NAME="$NAME" \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port HEARTBEAT_INTERVAL=200ms bg agent "$PCKTR"
ag=$BG_PID
wait_log collector '"event":"source_hello"'
udp_burst "$udp" 20
sleep 0.5
curl -sf "http://127.0.0.1:$mcol/status" >"$W/status.json" || fail "/status"

# Silent agent: stale, then gone, then back.
kill -STOP "$ag"
wait_log collector '"event":"source_gone"' 15
sleep 0.5
kill -CONT "$ag"
wait_log collector '"event":"source_up"' 10
udp_burst "$udp" 10
sleep 0.5
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector '"event":"source_goodbye"'
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" 30 "packets written"

python3 - "$W/collector.log" "$W/agent.log" "$W/status.json" "$SHOWN" \
    "tcp://127.0.0.1:$port" <<'PY' || fail "JSON logs"
import collections, json, socket, sys
col_log, agent_log, status, shown, endpoint = sys.argv[1:]

def records(path):
    out = []
    for n, raw in enumerate(open(path, "rb").read().splitlines(), 1):
        line = raw.decode("utf-8")  # strict: a byte that is not UTF-8 fails here
        r = json.loads(line)
        assert isinstance(r, dict), (path, n, line)
        for key in ("time", "level", "module", "message"):
            assert key in r, (path, n, key, line)
        assert r["level"] in ("debug", "info", "warn", "error"), r
        out.append(r)
    return out

col, agent = records(col_log), records(agent_log)
json.loads(open(status, "rb").read().decode("utf-8"))  # /status too, with that name in it

# The collector: each source event once, with the source's fields.
events = collections.Counter(r.get("event") for r in col)
for ev in ("source_new", "source_hello", "source_stale", "source_gone", "source_up",
           "source_goodbye"):
    assert events[ev] == 1, (ev, events)
for r in col:
    assert r.get("endpoint") == endpoint, r  # the collector's context, on every line
    if r.get("event", "").startswith("source_"):
        assert r["source"] == shown, r
        if r["event"] != "source_new":  # the hello brings host and device
            assert r["host"] == socket.gethostname() and r["device"] == "lo", r
assert "\x1b" not in open(col_log, encoding="utf-8").read(), "an escape byte reached the log"

# The agent: its source, device and endpoint on every line; its events named.
for r in agent:
    # its own name as configured; the byte that is not UTF-8 is U+FFFD in JSON
    assert r.get("source") == "evil\x1b[31m\ufffd-agent", r
    assert r.get("device") == "lo" and r.get("endpoint") == endpoint, r
assert any(r.get("event") == "collector_connected" for r in agent), agent
print("collector events:", dict(events))
PY
pass "LOG_FORMAT=json: strict JSON per line, fields, each source state change once"
