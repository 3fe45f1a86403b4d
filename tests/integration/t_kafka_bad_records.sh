# Kafka: records that are not of this protocol, written into the topic by another producer
# (kcat), are dropped and counted, never written, and do not disturb the records around them:
# no pktr.frame header, a value that is no run of pcap records, a pktr.frame that is no
# message header, an empty record. A replay after them still arrives byte-exact.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start pkts 1
EP=kafka://$KAFKA_BROKERS/pkts
mport=$(free_port)
KAFKA_OPTIONS=$GROUP_OPTIONS MODE=collect COLLECT_ENDPOINT=$EP METRICS_ADDRPORT=127.0.0.1:$mport \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "assigned 1 partitions" 15
produce() { kcat -P -b "$KAFKA_BROKERS" -t pkts "$@"; }
echo "no headers at all" | produce
printf 'zz' | produce -H pktr.frame=PKTRxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
printf 'a value' | produce -H pktr.frame=garbage
printf '' | produce -Z -H pktr.frame=
python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 500 3
MODE=capture READ_FILE="$W/in.pcap" SOURCE_NAME=replay RELAY_ENDPOINT=$EP "$PCKTR" \
    2>"$W/agent.log" || fail "agent exited $?"
wait_log collector 'source "replay" said goodbye' 10
curl -s "http://127.0.0.1:$mport/metrics" >"$W/metrics.txt"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
malformed=$(awk '/^packeteur_kafka_records_malformed_total / {print $2}' "$W/metrics.txt")
[ "${malformed:-0}" -ge 2 ] || fail "records without a valid value or frame not counted ($malformed)"
dropped=$(awk '/^packeteur_messages_dropped_total\{reason="malformed"\}/ {print $2}' "$W/metrics.txt")
[ "${dropped:-0}" -ge 3 ] || fail "malformed messages not counted ($dropped)"
diff <(pcap_lines "$W/in.pcap") <(pcap_lines "$W/out.pcap") >"$W/diff.txt" ||
    fail "the replay after bad records is not byte-exact (see diff.txt)"
pass "bad records dropped and counted ($malformed records, $dropped malformed messages); the replay after them byte-exact"
