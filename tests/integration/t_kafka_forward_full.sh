# FORWARD_ENDPOINT never slows the primary: with every broker down, the forwarder's queue
# (4096 messages) fills, what does not fit is dropped and counted (/metrics, /status, its
# closing line), what it held is counted as delivery failed at exit, and the collector's own
# output has every packet, byte-exact.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start pkts 1
EP=kafka://$KAFKA_BROKERS/pkts
python3 "$TESTS_DIR/gen_pcap.py" "$W/a.pcap" 20000 1
kill -USR1 "$KAFKA_MOCK_PID" # every broker down before anything is forwarded
port=$(free_port); mport=$(free_port)
RELAY_TRANSPORT=zmq MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port FORWARD_ENDPOINT=$EP \
    METRICS_ADDRPORT=127.0.0.1:$mport LINGER=500ms bg near "$PCKTR" >"$W/near.pcap"
near=$BG_PID
wait_log near "forwarding every message received to $EP" 10
# About one packet per message: thousands of messages, beyond the forwarder's queue.
RELAY_TRANSPORT=zmq MODE=capture READ_FILE="$W/a.pcap" SOURCE_NAME=replay-a BATCH_BYTES=1K \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent_a "$PCKTR"
a=$BG_PID
wait_exit "$a" 20; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log near 'source "replay-a" said goodbye' 10
wait_log near "took no more" 5
curl -s "http://127.0.0.1:$mport/metrics" >"$W/metrics.txt"
full=$(awk '/^packeteur_forward_drops_total\{cause="queue_full"\} / {print $2}' "$W/metrics.txt")
[ -n "$full" ] && [ "$full" -gt 0 ] || fail "/metrics forward queue_full drops '$full'"
curl -s "http://127.0.0.1:$mport/status" | python3 -c 'import json, sys
f = json.load(sys.stdin)["forward"]
assert f["dropped_queue_full"] > 0 and f["messages"] <= 4096 and f["delivered"] == 0, f' ||
    fail "/status forward fields"
kill -TERM "$near"
wait_exit "$near" 10; expect_eq "$EXIT_CODE" 0 "collector exit code"
read -r taken delivered failed dropped < <(sed -n 's/.*forwarded \([0-9]*\) messages to .*: delivered \([0-9]*\), failed \([0-9]*\), dropped \([0-9]*\).*/\1 \2 \3 \4/p' "$W/near.log")
expect_eq "$delivered" 0 "forwarded messages delivered with every broker down"
expect_eq "$failed" "$taken" "forwarded messages counted as delivery failed at exit"
[ "$dropped" -gt 0 ] || fail "no forward drops"
grep -q 'source "replay-a" totals: received 20000 packets (written 20000' "$W/near.log" ||
    fail "the collector's own totals"
diff <(pcap_lines "$W/a.pcap") <(pcap_lines "$W/near.pcap") >"$W/diff.txt" ||
    fail "the collector's own output is not byte-exact (see diff.txt)"
pass "brokers down: forwarder took $taken, dropped $dropped (counted), failed $failed at exit; the primary wrote all 20000 byte-exact"
