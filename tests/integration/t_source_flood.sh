# Source-table exhaustion. One hostile connection sends a million distinct source ids (stats
# messages, the smallest valid kind) while a live agent relays; then a new agent (READ_FILE)
# starts. The hostile peer holds at most 64 sources, the rest of its ids are refused and
# counted against it, the log does not grow by a line per id, the collector's peak RSS stays
# bounded, and every packet of both agents arrives.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import zmq' 2>/dev/null || fail "python3-zmq is not installed"
N=${PK_FLOOD_IDS:-1000000}
RSS_LIMIT_KB=$((64 * 1024)) # measured: about 10 MiB (plain build)
[ "${PK_SANITIZED:-OFF}" = ON ] && RSS_LIMIT_KB=$((512 * 1024)) # ASan's shadow and quarantine
python3 "$TESTS_DIR/gen_pcap.py" "$W/replay.pcap" 1000 1
port=$(free_port); udp=$(free_port); m=$(free_port); K=300
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$m \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=live RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg agent "$PCKTR"
ag=$BG_PID
wait_log collector 'source "live": host'
/usr/bin/python3 - "$TESTS_DIR" "$RELAY_TRANSPORT" "$port" "$N" <<'PY' 2>"$W/flood.log" &
import struct, sys, time
sys.path.insert(0, sys.argv[1]); import pktr_wire as w
transport, port, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
msg = bytearray(w.stats(0, 0, "flood", captured=1, relayed=1))
if transport == "tcp-raw":
    p, chunk = w.TcpRaw("127.0.0.1", port, timeout=60), bytearray()
    prefix = struct.pack("<I", len(msg))
    for i in range(n):
        struct.pack_into("<Q", msg, 8, 0x7700000000 + i)
        chunk += prefix + msg
        if len(chunk) >= 1 << 20:
            p.send_raw(bytes(chunk)); chunk = bytearray()
    p.send_raw(bytes(chunk))
else:
    p = w.Zmq("tcp://127.0.0.2:0;127.0.0.1:%d" % port, linger_ms=30000)
    for i in range(n):
        struct.pack_into("<Q", msg, 8, 0x7700000000 + i)
        p.send(bytes(msg))
time.sleep(0.5)
p.close()
PY
flood=$!
# The live agent relays while the flood comes in.
for i in 1 2 3; do udp_burst "$udp" $((K / 3)); sleep 0.2; done
wait "$flood" || fail "flood: $(cat "$W/flood.log")"
received() { curl -sf "http://127.0.0.1:$m/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"]["received"])'; }
for ((i = 0; i < 1200; i++)); do # until the collector has read all of it (bounded: 60 s)
    [ "$(received)" -ge "$N" ] && break
    sleep 0.05
done
[ "$(received)" -ge "$N" ] || fail "the collector read $(received) of $N messages"
MODE=capture READ_FILE="$W/replay.pcap" SOURCE_NAME=newcomer RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    "$PCKTR" 2>"$W/replay.log" || fail "replay: $(cat "$W/replay.log")"
wait_log collector 'source "newcomer" said goodbye'
curl -sf "http://127.0.0.1:$m/status" >"$W/status.json" || fail "/status"
curl -sf "http://127.0.0.1:$m/metrics" >"$W/metrics.txt" || fail "/metrics"
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$col/status")
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector 'source "live" said goodbye'
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" "$K" "the live agent's packets"
expect_eq "$(pcap_count "$W/out.pcap")" $((K + 1000)) "the live agent's and the newcomer's packets"
[ "$hwm" -le "$RSS_LIMIT_KB" ] || fail "collector peak RSS ${hwm} kB over ${RSS_LIMIT_KB} kB"
/usr/bin/python3 - "$W/status.json" "$N" <<'PY' 2>"$W/check.log" || fail "status: $(cat "$W/check.log")"
import json, sys
doc, n = json.load(open(sys.argv[1])), int(sys.argv[2])
flood = [s for s in doc["sources"] if s["name"] == "flood"]
assert len(flood) <= 64, len(flood)
r = doc["source_refusals"]
# every id was taken (and held or later forgotten) or refused
assert r["peer_limit"] + len(flood) + doc["sources_forgotten"] == n, (r, len(flood), doc["sources_forgotten"])
assert r["peer_limit"] >= n // 2 and r["table_full"] == 0, r
assert doc["sources_refused"] == r["peer_limit"], doc["sources_refused"]
peers = doc["refusing_peers"]
assert len(peers) == 1 and peers[0]["peer_limit"] == r["peer_limit"], peers
for name in ("live", "newcomer"):
    s = next(s for s in doc["sources"] if s["name"] == name)
    assert s["lost_packets"] == 0 and s["written"] == s["packets"], s
PY
grep -q '^packeteur_source_refusals_total{reason="peer_limit"} [1-9]' "$W/metrics.txt" ||
    fail "metrics: $(grep refus "$W/metrics.txt")"
lines=$(wc -l <"$W/collector.log")
[ "$lines" -le 1000 ] || fail "the collector logged $lines lines for $N ids"
pass "$N ids from one peer: refused and counted, $lines log lines, peak RSS ${hwm} kB; all $((K + 1000)) packets arrived"
