# Kafka: three agents (two READ_FILE replays, one live capture on lo) -> a 4-partition topic ->
# one collector. The replays arrive byte-exact, the live packets all; each source keeps its
# books (captured = relayed at the agent, received = written at the collector).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start pkts 4
EP=kafka://$KAFKA_BROKERS/pkts
python3 "$TESTS_DIR/gen_pcap.py" "$W/a.pcap" 1500 1
python3 "$TESTS_DIR/gen_pcap.py" "$W/b.pcap" 1000 2
mport=$(free_port)
KAFKA_OPTIONS=$GROUP_OPTIONS MODE=collect COLLECT_ENDPOINT=$EP METRICS_ADDRPORT=127.0.0.1:$mport \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "assigned 4 partitions" 15
udp=$(free_port)
MODE=capture FILTER="udp dst port $udp and udp[8:2] = 0x780a" SOURCE_NAME=live RELAY_ENDPOINT=$EP bg live "$PCKTR"
live=$BG_PID
wait_log collector 'source "live": host' 10
# Its traffic to every broker of the endpoint stays out of its capture (not the first alone).
for b in ${KAFKA_BROKERS//,/ }; do
    grep -q "(host ${b%:*} and port ${b##*:})" "$W/live.log" || fail "the capture filter lets $b in"
done
MODE=capture READ_FILE="$W/a.pcap" SOURCE_NAME=replay-a RELAY_ENDPOINT=$EP bg agent_a "$PCKTR"
a=$BG_PID
MODE=capture READ_FILE="$W/b.pcap" SOURCE_NAME=replay-b RELAY_ENDPOINT=$EP bg agent_b "$PCKTR"
b=$BG_PID
udp_burst "$udp" 300
sleep 0.3
kill -TERM "$live"
for p in $a $b $live; do wait_exit "$p" 15; expect_eq "$EXIT_CODE" 0 "agent $p exit code"; done
grep -q "captured 1500, relayed 1500, relay drops 0" "$W/agent_a.log" || fail "agent a totals"
grep -q "captured 1000, relayed 1000, relay drops 0" "$W/agent_b.log" || fail "agent b totals"
grep -q "captured 300, relayed 300, relay drops 0" "$W/live.log" || fail "live agent totals"
for s in replay-a replay-b live; do wait_log collector "source \"$s\" said goodbye" 10; done
# /metrics and /status show the consumer: its partitions, its lag (none left), per partition.
curl -s "http://127.0.0.1:$mport/metrics" >"$W/metrics.txt"
grep -qx "packeteur_kafka_assigned_partitions 4" "$W/metrics.txt" || fail "assigned partitions metric"
grep -qx "packeteur_kafka_consumer_lag 0" "$W/metrics.txt" || fail "consumer lag metric"
expect_eq "$(grep -c '^packeteur_kafka_partition_lag{partition="[0-3]"} 0$' "$W/metrics.txt")" 4 \
    "per-partition lag series"
promtool check metrics <"$W/metrics.txt" >/dev/null 2>&1 || fail "promtool rejects /metrics"
curl -s "http://127.0.0.1:$mport/status" | python3 -c 'import json, sys
m = json.load(sys.stdin)["messages"]
assert m["kafka_assigned_partitions"] == 4 and m["kafka_lag"] == 0, m' || fail "/status kafka fields"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
grep -q 'source "replay-a" totals: received 1500 packets (written 1500' "$W/collector.log" ||
    fail "collector totals of replay-a"
grep -q 'source "live" totals: received 300 packets (written 300' "$W/collector.log" ||
    fail "collector totals of live"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" 300 "live packets written"
diff <(pcap_lines "$W/a.pcap" "$W/b.pcap") <(PCAP_FILTER="not udp dst port $udp" pcap_lines "$W/out.pcap") \
    >"$W/diff.txt" || fail "the replays are not byte-exact (see diff.txt)"
pass "three agents -> 4 partitions -> one collector: 1500 + 1000 replayed byte-exact, 300 live"
