# A source evicted while briefly stale keeps its books. A source relays 10 packets and falls
# silent past SOURCE_STALE_AFTER; 16 peers x 64 fresh ids fill the table and evict it; its next
# 20 batches (200 packets) are refused (table full); once the flood is stale too it sends 10
# more and a goodbye. The 200 must show as lost in transit and refused while evicted, with its
# first totals kept, not as "relayed before first seen" on a new entry with nothing lost.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import zmq' 2>/dev/null || fail "python3-zmq is not installed"
port=$(free_port); m=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$m \
    SOURCE_STALE_AFTER=1s bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector 'collecting on'
/usr/bin/python3 - "$TESTS_DIR" "$RELAY_TRANSPORT" "$port" "$m" <<'PY' 2>"$W/peers.log" ||
import json, socket, struct, sys, time, urllib.request
sys.path.insert(0, sys.argv[1]); import pktr_wire as w
transport, port, m = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def peer(addr):  # zmq tells peers apart by address, tcp-raw by connection
    if transport == "zmq":
        return w.Zmq("tcp://%s:0;127.0.0.1:%d" % (addr, port), linger_ms=5000)
    s = socket.socket(); s.bind((addr, 0)); s.connect(("127.0.0.1", port))
    p = w.TcpRaw.__new__(w.TcpRaw); p.sock = s
    return p

def status():
    return json.loads(urllib.request.urlopen("http://127.0.0.1:%d/status" % m, timeout=5).read())

def until(what, cond, limit=20.0):
    end = time.time() + limit
    while time.time() < end:
        s = status()
        if cond(s):
            return s
        time.sleep(0.05)
    sys.exit("timed out waiting for %s: %s" % (what, json.dumps(status())[:2000]))

def mine(s):
    return next((x for x in s["sources"] if x["name"] == "agent"), None)

ID, frames = 0x5151, [w.udp_frame(b"x" * 20)] * 10
agent = peer("127.0.0.1")
agent.send(w.hello(ID, 0, "agent", heartbeat_ms=100))
agent.send(w.packets(ID, 1, "agent", 0, frames))
until("the first batch", lambda s: mine(s) and mine(s)["written"] == 10)
until("the source stale", lambda s: mine(s)["state"] != "up")
flood = [peer("127.5.0.%d" % (k + 1)) for k in range(16)]
for k, p in enumerate(flood):
    for i in range(64):
        p.send(w.hello(0x66000000 + (k << 8) + i, 0, "flood", heartbeat_ms=100))
until("the flood to fill the table", lambda s: mine(s) is None and len(s["sources"]) == 1024)
for seq in range(2, 22):  # 200 packets, refused: the table is full of live sources
    agent.send(w.packets(ID, seq, "agent", 10 * (seq - 1), frames))
until("the refusals", lambda s: s["source_refusals"]["table_full"] >= 20)
until("the flood stale", lambda s: s["sources_by_state"]["up"] == 0)
agent.send(w.packets(ID, 22, "agent", 210, frames))
agent.send(w.goodbye(ID, 23, "agent", captured=220, relayed=220))
s = until("the goodbye", lambda s: mine(s) and mine(s)["said_goodbye"])
a = mine(s)
print(json.dumps(a), file=sys.stderr)
assert a["written"] == 20 and a["packets"] == 20, a
assert a["lost_packets"] == 200 and a["relayed_before_first_seen"] == 0, a
assert a["lost_messages"] == 20 and a["refused_while_evicted"] == 20, a
assert a["messages"] == 4, a  # its first two messages are still in its books
assert s["sources_restored"] >= 1 and s["sources_forgotten_for_good"] == 0, s
for p in flood + [agent]:
    p.close()
PY
    fail "$(tail -c 3000 "$W/peers.log")"
curl -sf "http://127.0.0.1:$m/metrics" >"$W/metrics.txt" || fail "/metrics"
grep -q '^packeteur_source_lost_packets_total{source="agent"} 200$' "$W/metrics.txt" ||
    fail "metrics: $(grep lost_packets "$W/metrics.txt" | head -3)"
grep -q '^packeteur_sources_restored_total [1-9]' "$W/metrics.txt" || fail "no restored metric"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap")" 20 "packets written"
pass "an evicted source came back: 200 packets lost in transit, 20 refused messages, books kept"
