# MERGE_WINDOW: two replays with interleaved timestamps, relayed at the same time, come out in
# timestamp order, identical to `mergecap` of the same files. Packets that arrive later than the
# window are still written, and counted as late (exactly those behind the latest written).
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_pcap.py" "$W/a.pcap" 2000 21
python3 "$TESTS_DIR/gen_pcap.py" "$W/b.pcap" 2000 22
port=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port MERGE_WINDOW=1s bg collector "$PCKTR" >"$W/merged.pcap"
col=$BG_PID
wait_log collector "collecting on"
MODE=capture READ_FILE="$W/a.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent_a "$PCKTR"
a=$BG_PID
MODE=capture READ_FILE="$W/b.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent_b "$PCKTR"
b=$BG_PID
wait_exit "$a" 20; expect_eq "$EXIT_CODE" 0 "agent a"
wait_exit "$b" 20; expect_eq "$EXIT_CODE" 0 "agent b"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
mergecap -F nsecpcap -w "$W/reference.pcap" "$W/a.pcap" "$W/b.pcap"
diff <(pcap_dump "$W/reference.pcap") <(pcap_dump "$W/merged.pcap") >"$W/merge.diff" ||
    fail "output differs from mergecap (merge.diff)"

# Late packets: file c is sent after a has been written; its timestamps lie in a's range.
python3 "$TESTS_DIR/gen_pcap.py" "$W/c.pcap" 500 23
late_expected=$(python3 - "$W/a.pcap" "$W/c.pcap" <<'PY'
import struct, sys
def stamps(path):
    d = open(path, "rb").read(); off = 24; out = []
    while off < len(d):
        s, ns, cap, _ = struct.unpack_from("=IIII", d, off); out.append(s * 10**9 + ns); off += 16 + cap
    return out
a, c = stamps(sys.argv[1]), stamps(sys.argv[2])
latest, late = max(a), 0
for t in c:                       # c arrives in file order after all of a was written
    if t < latest: late += 1
    else: latest = t
print(late)
PY
)
[ "$late_expected" -gt 100 ] || fail "test data: only $late_expected late packets expected"
port=$(free_port); mcol=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port MERGE_WINDOW=200ms METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector2 "$PCKTR" >"$W/late.pcap"
col=$BG_PID
wait_log collector2 "collecting on"
MODE=capture READ_FILE="$W/a.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port "$PCKTR" 2>/dev/null || fail "replay a"
sleep 0.6 # more than the window: a is written
MODE=capture READ_FILE="$W/c.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port "$PCKTR" 2>/dev/null || fail "replay c"
sleep 0.6
curl -sf "http://127.0.0.1:$mcol/status" >"$W/status.json" || fail "/status"
curl -sf "http://127.0.0.1:$mcol/metrics" >"$W/metrics.prom" || fail "/metrics"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/late.pcap")" 2500 "every packet written, late ones too"
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["output"]["late"])' "$W/status.json")" \
    "$late_expected" "late packets in /status"
grep -q "^packeteur_output_late_packets_total $late_expected\$" "$W/metrics.prom" || fail "late metric"
pass "MERGE_WINDOW: identical to mergecap; $late_expected late packets written and counted"
