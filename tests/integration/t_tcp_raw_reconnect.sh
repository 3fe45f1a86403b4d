# tcp-raw over IPv6 (tcp://[::1]:PORT): the agent's connection is cut under it (ss -K). The agent reconnects by itself with
# backoff; /status shows the disconnect and the reconnect of that source; every packet is either
# written or counted as lost in transit.
source "$(dirname "$0")/lib.sh"
ss -K --help >/dev/null 2>&1 || true

port=$(free_port); udp=$(free_port); mcol=$(free_port); K=300
MODE=collect COLLECT_ENDPOINT="tcp://[::1]:$port" METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=cut RELAY_ENDPOINT="tcp://[::1]:$port" \
    HEARTBEAT_INTERVAL=200ms bg agent "$PCKTR"
ag=$BG_PID
wait_log collector 'source "cut": host'
udp_burst "$udp" "$K"
sleep 0.3
grep -q "filter \"(udp dst port $udp) and not (tcp port $port and (host ::1))\"" "$W/agent.log" ||
    fail "IPv6 relay not excluded: $(head -1 "$W/agent.log")"
ss -K dst "[::1]" dport = ":$port" >/dev/null 2>&1 || fail "ss -K failed (kernel without socket destroy?)"
wait_log agent "lost collector"
wait_log collector 'source "cut" reconnected from'
udp_burst "$udp" "$K"
sleep 0.5
curl -sf "http://127.0.0.1:$mcol/status" >"$W/status.json" || fail "/status"
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector 'source "cut" said goodbye'
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

python3 - "$W/status.json" <<'PY' || fail "/status after the cut: $(cat "$W/status.json")"
import json, sys
s = next(s for s in json.load(open(sys.argv[1]))["sources"] if s["name"] == "cut")
print({k: s[k] for k in ("connected", "reconnects", "disconnects", "packets", "lost_packets", "state")})
assert s["connected"] is True and s["state"] == "up", s
assert s["reconnects"] >= 1 and s["disconnects"] >= 1, s
assert s["connected_since"] is not None, s
PY
written=$(pcap_count "$W/out.pcap" "udp dst port $udp")
line=$(grep 'source "cut" totals' "$W/collector.log")
lost=$(sed -n 's/.*lost in transit \([0-9]*\) packets.*/\1/p' <<<"$line")
relayed=$(sed -n 's/.*agent: captured [0-9]*, relayed \([0-9]*\),.*/\1/p' <<<"$line")
expect_eq "$relayed" $((2 * K)) "agent relayed"
expect_eq $((written + lost)) $((2 * K)) "written + lost in transit"
pass "connection cut: agent reconnected, /status shows it, $written written + $lost lost = $((2 * K))"
