# Kafka: every broker goes down under load and comes back. The agent keeps capturing, holds at
# most RELAY_QUEUE records awaiting delivery, drops (and counts) what does not fit, and
# delivers the rest once the brokers are back: captured = relayed + relay drops, and the
# collector writes every relayed packet, none lost in transit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start_collector
udp=$(free_port); mport=$(free_port)
KAFKA_OPTIONS=$BACKOFF RELAY_QUEUE=4 MODE=capture SOURCE_NAME=live RELAY_ENDPOINT=$EP \
    FILTER="udp dst port $udp and udp[8:2] = 0x780a" METRICS_ADDRPORT=127.0.0.1:$mport \
    bg agent "$PCKTR"
agent=$BG_PID
wait_log collector 'source "live": host' 10
udp_burst "$udp" 200
kill -USR1 "$KAFKA_MOCK_PID" # every broker down
sleep 0.3
udp_burst "$udp" 1500
queued=$(curl -s "http://127.0.0.1:$mport/metrics" | awk '/^packeteur_kafka_producer_queue / {print $2}')
[ -n "$queued" ] && [ "$queued" -le 4 ] || fail "producer queue '$queued' over RELAY_QUEUE=4"
curl -s "http://127.0.0.1:$mport/status" | python3 -c 'import json, sys
r = json.load(sys.stdin)["relay"]
assert r["kafka_queued"] <= 4 and r["kafka_delivery_errors"] == 0, r' || fail "/status relay kafka fields"
kill -USR2 "$KAFKA_MOCK_PID" # and up again
sleep 2
udp_burst "$udp" 200
sleep 1
kill -TERM "$agent"
wait_exit "$agent" 10; expect_eq "$EXIT_CODE" 0 "agent exit code"
read -r captured relayed drops < <(sed -n 's/.*done: captured \([0-9]*\), relayed \([0-9]*\), relay drops \([0-9]*\).*/\1 \2 \3/p' "$W/agent.log")
expect_eq "$captured" 1900 "packets captured"
expect_eq "$((relayed + drops))" "$captured" "relayed + relay drops"
[ "$drops" -gt 0 ] || fail "no relay drops while every broker was down"
grep -q "relay queue full" "$W/agent.log" || fail "the agent did not say its queue was full"
wait_log collector 'source "live" said goodbye' 10
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
grep -q "source \"live\" totals: received $relayed packets (written $relayed, link-type drops 0), lost in transit 0 packets" \
    "$W/collector.log" || fail "the collector did not write the $relayed relayed packets"
expect_eq "$(pcap_count "$W/out.pcap")" "$relayed" "packets in the output"
pass "brokers down and up: queue held at $queued <= 4, $drops packets dropped and counted, $relayed relayed and written"
