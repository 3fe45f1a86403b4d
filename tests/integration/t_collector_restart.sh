# The collector is killed (SIGKILL) and restarted while an agent runs: the agent reconnects by
# itself, the new collector learns the source from its hello, and later packets arrive.
source "$(dirname "$0")/lib.sh"

port=$(free_port); udp=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector1 "$PCKTR" >"$W/out1.pcap"
col=$BG_PID
MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=survivor RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    HEARTBEAT_INTERVAL=300ms bg agent "$PCKTR"
ag=$BG_PID
wait_log agent "connected to collector"
udp_burst "$udp" 50
sleep 0.5
kill -9 "$col"
wait "$col" 2>/dev/null || true
wait_log agent "lost collector"
udp_burst "$udp" 30 # queued by the agent (or lost in the dead connection: counted either way)
sleep 0.5
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector2 "$PCKTR" >"$W/out2.pcap"
col=$BG_PID
wait_log collector2 'source "survivor": host' 10
udp_burst "$udp" 100
sleep 0.5
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector2 'said goodbye'
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

expect_eq "$(pcap_count "$W/out1.pcap" "udp dst port $udp")" 50 "packets before the kill"
after=$(pcap_count "$W/out2.pcap" "udp dst port $udp")
[ "$after" -ge 100 ] || fail "only $after packets after the restart (expected >= 100)"
# Accounting across the restart: what the second collector received plus what it counted as
# lost in transit equals what the agent relayed after the first collector's share.
relayed=$(sed -n 's/.*done: captured \([0-9]*\), relayed \([0-9]*\),.*/\2/p' "$W/agent.log")
expect_eq "$relayed" 180 "agent relayed"
line=$(grep 'source "survivor" totals' "$W/collector2.log")
received=$(sed -n 's/.*received \([0-9]*\) packets.*/\1/p' <<<"$line")
lost=$(sed -n 's/.*lost in transit \([0-9]*\) packets.*/\1/p' <<<"$line")
[ $((50 + received + lost)) -ge 180 ] || fail "unaccounted packets: 50 + $received + $lost < 180"
pass "agent reconnected; $after packets after the restart, $lost counted lost in transit"
