# tcp-raw: every slot held by peers that each sent one valid hello and then nothing (the
# collector's hard limit of 200 descriptors gives 136 slots; 3 addresses, under 64 each). A
# newcomer is refused while none has been silent for 10 s; after that the longest silent makes
# room, counted as timed_out "silent", and a READ_FILE agent delivers every packet.
source "$(dirname "$0")/lib.sh"

port=$(free_port); mcol=$(free_port); N=136
python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 300
(ulimit -n 200; MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port \
    METRICS_ADDRPORT=127.0.0.1:$mcol exec "$PCKTR" >"$W/out.pcap" 2>"$W/collector.log") &
col=$!; PIDS+=("$col")
wait_log collector "collecting on"
status() { curl -sf -m 3 "http://127.0.0.1:$mcol/status"; }
# hold: N proven connections, then one more (refused: none silent yet); prints "ready" and
# holds them until stdin closes.
cat >"$W/hold.py" <<'PY'
import json, socket, sys, time, urllib.request
sys.path.insert(0, sys.argv[2]); import pktr_wire as w
port, url, n = int(sys.argv[1]), sys.argv[3], int(sys.argv[4])
st = lambda: json.load(urllib.request.urlopen(url))
def hello(addr, i):
    s = socket.socket(); s.bind((addr, 0)); s.connect(("127.0.0.1", port))
    m = w.hello(source_id=5000 + i, seq=0, name="quiet%d" % i)
    s.sendall(len(m).to_bytes(4, "little") + m)
    return s
held = [hello("127.0.5.%d" % (1 + i % 3), i) for i in range(n)]
for _ in range(200):
    if st()["messages"]["received"] >= n:
        break
    time.sleep(0.05)
else:
    raise SystemExit("hellos not all taken: %s" % st()["messages"])
try:
    extra = hello("127.0.5.9", n)
except OSError:
    pass  # refused: reset at once
for _ in range(200):
    if st()["security"]["connections"]["refused_limit"] >= 1:
        break
    time.sleep(0.05)
else:
    raise SystemExit("a newcomer was not refused at the limit: %s" % st()["security"])
print("ready", flush=True)
sys.stdin.read()
PY
hold() { python3 "$W/hold.py" "$port" "$TESTS_DIR" "http://127.0.0.1:$mcol/status" "$N"; }
coproc HOLD { hold 2>"$W/hold.log"; }
PIDS+=("$HOLD_PID")
read -r -t 30 line <&"${HOLD[0]}" || fail "holding $N proven connections: $(cat "$W/hold.log")"
status >"$W/status1.json" || fail "/status at the limit"
sleep 11 # past SILENT_MS (10 s) and a sweep
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_TIMEOUT=10s \
    bg agent "$PCKTR"
ag=$BG_PID
wait_exit "$ag" 20; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector "said goodbye"
status >"$W/status2.json" || fail "/status after the agent"
curl -sf -m 3 "http://127.0.0.1:$mcol/metrics" >"$W/metrics.txt" || fail "/metrics"
kill -0 "$HOLD_PID" 2>/dev/null || fail "the silent peers were let go early: $(cat "$W/hold.log")"
exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null || true
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
diff <(pcap_dump "$W/in.pcap") <(pcap_dump "$W/out.pcap") >/dev/null ||
    fail "the agent's packets: $(pcap_count "$W/out.pcap") of 300 written"
python3 - "$W/status1.json" "$W/status2.json" <<'PY' || fail "counters: $(cat "$W/status2.json")"
import json, sys
c1, c2 = (json.load(open(f))["security"]["connections"] for f in sys.argv[1:3])
print(c1, c2)
assert c1["limit"] == 136 and c1["refused_limit"] == 1 and c1["timed_out_silent"] == 0, c1
assert c2["refused_limit"] == 1, c2               # the agent was not refused
assert c2["timed_out_silent"] >= 1, c2            # a silent one made room
assert c2["timed_out_first_message"] == 0, c2
PY
grep -qE '^packeteur_connections_timed_out_total\{reason="silent"\} [1-9]' "$W/metrics.txt" ||
    fail "no silent count in /metrics: $(grep timed_out "$W/metrics.txt")"
pass "136 proven silent connections: refused before 10 s, then the longest silent makes room"
