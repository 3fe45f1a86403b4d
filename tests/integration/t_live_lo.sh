# Live capture on lo with a filter: exactly the K datagrams sent arrive, and stdout is pcap only.
source "$(dirname "$0")/lib.sh"

port=$(free_port); udp=$(free_port); K=500
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture DEVICE=lo FILTER="udp port $udp" RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent "$PCKTR"
ag=$BG_PID
wait_log agent "connected to collector"
wait_log collector "source .*filter"
udp_burst "$udp" "$K"
sleep 0.5
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector "said goodbye"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" "$K" "datagrams in the output"
expect_eq "$(pcap_count "$W/out.pcap")" "$K" "packets in the output (nothing else)"
grep -q "captured $K, relayed $K, relay drops 0, kernel drops 0" "$W/agent.log" ||
    fail "agent accounting: $(grep done: "$W/agent.log")"
# The log went to stderr, the pcap to stdout: the file starts with the ns pcap magic.
expect_eq "$(head -c 4 "$W/out.pcap" | od -An -tx4 | tr -d ' ')" a1b23c4d "pcap magic"
pass "live capture on lo: $K of $K datagrams"
