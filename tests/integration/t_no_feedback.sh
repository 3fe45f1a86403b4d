# Defaults on lo with an empty FILTER: the relay's own ZeroMQ traffic to the collector never
# appears in the output (no feedback loop), while a known burst of other traffic does.
source "$(dirname "$0")/lib.sh"

udp=$(free_port); K=300
ss -Htln "( sport = :7386 )" | grep -q . && fail "port 7386 is busy; this test uses the defaults"
MODE=collect bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture bg agent "$PCKTR" # DEVICE=lo, FILTER="", RELAY_ENDPOINT=tcp://localhost:7386
ag=$BG_PID
wait_log agent "connected to collector"
grep -q 'filter "not (tcp port 7386 and (host' "$W/agent.log" || fail "exclusion not in the log"
udp_burst "$udp" "$K"
sleep 1.5 # a few heartbeats: they would be captured if the exclusion failed
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector "said goodbye"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

expect_eq "$(pcap_count "$W/out.pcap" "tcp port 7386")" 0 "relay packets in the output"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" "$K" "burst packets in the output"
pass "no feedback: 0 relay packets, $K of $K burst packets"
