# COLLECT_ALLOW, for each transport: the collector listens on every address (IPv4 and IPv6) and
# allows only 127.0.0.1. An agent coming from 127.0.0.1 delivers every packet; one coming from
# ::1 is refused, counted and logged once, and never becomes a source; random bytes from an
# allowed address are dropped with that connection alone. tcp-raw warns when it listens
# beyond loopback without COLLECT_ALLOW, and not when COLLECT_ALLOW is set.
source "$(dirname "$0")/lib.sh"

port=$(free_port); mcol=$(free_port); ua=$(free_port); ub=$(free_port); N=200
MODE=collect COLLECT_ENDPOINT="tcp://*:$port" METRICS_ADDRPORT=127.0.0.1:$mcol \
    COLLECT_ALLOW=" 127.0.0.1/32, 192.0.2.0/24" bg collector "$PCKTR" >"$W/out.pcap"
wait_log collector "collecting on"
grep -q "only peers in COLLECT_ALLOW" "$W/collector.log" || fail "COLLECT_ALLOW logged at start"
MODE=capture FILTER="udp dst port $ua" SOURCE_NAME=v4 RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg v4 "$PCKTR"
MODE=capture FILTER="udp dst port $ub" SOURCE_NAME=v6 RELAY_ENDPOINT="tcp://[::1]:$port" \
    bg v6 "$PCKTR"
wait_log collector 'source "v4": host'
wait_log collector "refused ::1"
head -c 4096 /dev/urandom | timeout 5 nc -q1 127.0.0.1 "$port" >/dev/null || true
udp_burst "$ua" "$N"
udp_burst "$ub" "$N"
sleep 2.5 # the refused agent retries meanwhile
curl -sf "http://127.0.0.1:$mcol/status" >"$W/status.json" || fail "/status"
curl -sf "http://127.0.0.1:$mcol/metrics" >"$W/metrics.txt" || fail "/metrics"
python3 - "$W/status.json" "$N" "$RELAY_TRANSPORT" <<'PY' || fail "/status"
import json, sys
d = json.load(open(sys.argv[1]))
n, transport = int(sys.argv[2]), sys.argv[3]
sec = d["security"]
print(json.dumps(sec), json.dumps(d["messages"]))
assert [s["name"] for s in d["sources"]] == ["v4"], [s["name"] for s in d["sources"]]
v4 = d["sources"][0]
assert v4["written"] == n and v4["lost_packets"] == 0, v4
assert sec["allow"] == " 127.0.0.1/32, 192.0.2.0/24", sec
assert sec["refused"]["address"] >= 2, sec  # the ::1 agent, more than once: it retries
assert sec["refused"]["key"] == 0, sec
if transport == "tcp-raw":  # the garbage connection, closed on its own
    assert d["messages"]["peers_dropped"] == 1 and d["messages"]["malformed"] == 1, d["messages"]
else:  # libzmq closes a connection that is not ZMTP before any handshake
    c = sec["connections"]
    assert c["accepted"] - c["handshakes"] - c["handshake_failures"] >= 1, c
PY
grep -q 'packeteur_collector_refused_total{reason="address"} [2-9]' "$W/metrics.txt" ||
    fail "/metrics counts the refusals"
expect_eq "$(grep -c 'refused ::1' "$W/collector.log")" 1 "a refused address is logged once"
pass "COLLECT_ALLOW: allowed source complete, other address refused and counted"

if [ "$RELAY_TRANSPORT" = tcp-raw ]; then
    p2=$(free_port); p3=$(free_port)
    MODE=collect COLLECT_ENDPOINT="tcp://*:$p2" bg open_collector "$PCKTR" >/dev/null
    wait_log open_collector "collecting on"
    grep -q "listens beyond loopback.*no COLLECT_ALLOW" "$W/open_collector.log" ||
        fail "tcp-raw on every address without COLLECT_ALLOW must warn"
    MODE=collect COLLECT_ENDPOINT="tcp://*:$p3" COLLECT_ALLOW=10.0.0.0/8 \
        bg fenced_collector "$PCKTR" >/dev/null
    wait_log fenced_collector "collecting on"
    ! grep -q "listens beyond loopback" "$W/fenced_collector.log" ||
        fail "no open-listener warning with COLLECT_ALLOW"
    pass "tcp-raw warns when open to every address without COLLECT_ALLOW"
fi
