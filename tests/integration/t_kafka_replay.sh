# Kafka: the topic is a durable log. After every agent has exited, a collector of a new group
# with COLLECT_START=earliest replays all of it byte-exact; one with COLLECT_START=latest gets
# nothing of it; docs/KAFKA.md's kcat one-liner turns the topic into a file tcpdump reads, equal
# to what the collector wrote. A property librdkafka refuses in KAFKA_OPTIONS exits 2.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

for mode in capture collect; do
    for opt in no.such.property=1 acks=1 notapair; do
        [ "$mode/$opt" = "collect/acks=1" ] && continue # a producer property: a consumer ignores it
        rc=0
        MODE=$mode KAFKA_OPTIONS=$opt RELAY_ENDPOINT=kafka://127.0.0.1:9/t \
            COLLECT_ENDPOINT=kafka://127.0.0.1:9/t timeout 5 "$PCKTR" 2>"$W/bad.log" || rc=$?
        expect_eq "$rc" 2 "MODE=$mode KAFKA_OPTIONS=$opt exit code"
        grep -q "KAFKA_OPTIONS=\"$opt\"" "$W/bad.log" || fail "the error line names KAFKA_OPTIONS"
    done
done

kafka_start pkts 4
EP=kafka://$KAFKA_BROKERS/pkts
for n in 1 2 3; do
    python3 "$TESTS_DIR/gen_pcap.py" "$W/in$n.pcap" 700 "$n"
    MODE=capture READ_FILE="$W/in$n.pcap" SOURCE_NAME=replay$n RELAY_ENDPOINT=$EP \
        "$PCKTR" 2>"$W/agent$n.log" || fail "agent $n exited $?"
    grep -q "captured 700, relayed 700, relay drops 0" "$W/agent$n.log" || fail "agent $n totals"
done
# Every agent has gone: the topic alone holds their packets.
for start in earliest latest; do
    KAFKA_OPTIONS=$GROUP_OPTIONS COLLECT_GROUP=$start COLLECT_START=$start MODE=collect \
        COLLECT_ENDPOINT=$EP bg "$start" "$PCKTR" >"$W/$start.pcap"
    eval "pid_$start=\$BG_PID"
done
wait_log earliest "assigned 4 partitions" 15
wait_log latest "assigned 4 partitions" 15
for n in 1 2 3; do wait_log earliest "source \"replay$n\" said goodbye" 10; done
sleep 0.5
kill -TERM "$pid_earliest" "$pid_latest"
wait_exit "$pid_earliest"; expect_eq "$EXIT_CODE" 0 "collector (earliest) exit code"
wait_exit "$pid_latest"; expect_eq "$EXIT_CODE" 0 "collector (latest) exit code"
diff <(pcap_lines "$W"/in[1-3].pcap) <(pcap_lines "$W/earliest.pcap") >"$W/diff.txt" ||
    fail "COLLECT_START=earliest did not replay the topic byte-exact (see diff.txt)"
grep -q "wrote 0 packets" "$W/latest.log" || fail "COLLECT_START=latest read old records"

# docs/KAFKA.md: a pcap file header, then every record's value.
{ kafka_pcap_header; kcat -C -b "$KAFKA_BROKERS" -t pkts -e -q -f '%s'; } >"$W/kcat.pcap"
expect_eq "$(pcap_count "$W/kcat.pcap")" 2100 "packets tcpdump reads from the kcat file"
diff <(pcap_lines "$W/kcat.pcap") <(pcap_lines "$W/earliest.pcap") >"$W/kcat.diff" ||
    fail "the kcat one-liner differs from what the collector wrote (see kcat.diff)"
pass "COLLECT_START=earliest replayed 2100 packets of exited agents, latest none; kcat one-liner equal; bad KAFKA_OPTIONS exit 2"
