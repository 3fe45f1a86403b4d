# Kafka: every broker goes down for longer than message.timeout.ms, so the producer gives up
# on the records it holds. Those packets are neither relayed nor relay drops: the agent counts
# them as delivery failed (captured = relayed + relay drops + delivery failed, nothing left
# unconfirmed), /metrics and /status say so, and the collector books their gap under the same
# cause, not as lost in transit: it writes exactly the relayed packets.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start_collector
udp=$(free_port); mport=$(free_port)
KAFKA_OPTIONS=$BACKOFF,message.timeout.ms=500 RELAY_QUEUE=64 MODE=capture SOURCE_NAME=live \
    RELAY_ENDPOINT=$EP FILTER="udp dst port $udp and udp[8:2] = 0x780a" \
    METRICS_ADDRPORT=127.0.0.1:$mport bg agent "$PCKTR"
agent=$BG_PID
wait_log collector 'source "live": host' 10
udp_burst "$udp" 200
sleep 0.5
kill -USR1 "$KAFKA_MOCK_PID" # every broker down
sleep 0.3
udp_burst "$udp" 300
wait_log agent "gave up delivering" 10
sleep 1 # every record of the outage times out
metrics=$(curl -s "http://127.0.0.1:$mport/metrics")
failed_m=$(awk '/^packeteur_capture_drops_total\{cause="delivery"\} / {print $2}' <<<"$metrics")
[ -n "$failed_m" ] && [ "$failed_m" -gt 0 ] || fail "/metrics delivery drops '$failed_m'"
curl -s "http://127.0.0.1:$mport/status" | python3 -c 'import json, sys
c = json.load(sys.stdin)["capture"]
assert c["delivery_failed"] > 0, c
assert c["captured"] == c["relayed"] + c["relay_drops"] + c["delivery_failed"] + c["queued"] + c["unconfirmed"], c' ||
    fail "/status capture delivery fields"
kill -USR2 "$KAFKA_MOCK_PID" # and up again
sleep 2
udp_burst "$udp" 200
sleep 1
kill -TERM "$agent"
wait_exit "$agent" 10; expect_eq "$EXIT_CODE" 0 "agent exit code"
read -r captured relayed drops failed unconfirmed < <(sed -n 's/.*done: captured \([0-9]*\), relayed \([0-9]*\), relay drops \([0-9]*\),.*delivery failed \([0-9]*\), unconfirmed \([0-9]*\).*/\1 \2 \3 \4 \5/p' "$W/agent.log")
expect_eq "$captured" 700 "packets captured"
expect_eq "$unconfirmed" 0 "packets unconfirmed at the end"
expect_eq "$((relayed + drops + failed))" "$captured" "relayed + relay drops + delivery failed"
[ "$failed" -gt 0 ] || fail "no failed deliveries while every broker was down past message.timeout.ms"
[ "$relayed" -ge 400 ] || fail "only $relayed relayed: the packets before and after the outage are 400"
wait_log collector 'source "live" said goodbye' 10
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
grep -q "source \"live\" totals: received $relayed packets (written $relayed, link-type drops 0), lost in transit 0 packets.*relayed $relayed,.*delivery failed $failed\$" \
    "$W/collector.log" || fail "the collector did not book $relayed written, $failed failed, none lost"
expect_eq "$(pcap_count "$W/out.pcap")" "$relayed" "packets in the output"
pass "brokers down past message.timeout.ms: $failed packets delivery failed (agent and collector), $relayed relayed and written, none lost in transit"
