# FORWARD_ENDPOINT: three zmq agents (two READ_FILE, one live on lo) -> a zmq collector that also forwards every
# message into a Kafka topic -> a Kafka collector. Both collectors write the replays
# byte-exact, with each source's books intact at the far end (received = written, none lost);
# the forwarder says what it forwarded and that all was delivered, and each record's readable
# headers are its own source's (kcat), though their messages interleave.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start pkts 2
EP=kafka://$KAFKA_BROKERS/pkts
python3 "$TESTS_DIR/gen_pcap.py" "$W/a.pcap" 1500 1
python3 "$TESTS_DIR/gen_pcap.py" "$W/b.pcap" 1000 2
KAFKA_OPTIONS=$GROUP_OPTIONS RELAY_TRANSPORT=kafka MODE=collect COLLECT_ENDPOINT=$EP \
    bg far "$PCKTR" >"$W/far.pcap"
far=$BG_PID
wait_log far "assigned 2 partitions" 15
port=$(free_port)
RELAY_TRANSPORT=zmq MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port FORWARD_ENDPOINT=$EP \
    bg near "$PCKTR" >"$W/near.pcap"
near=$BG_PID
wait_log near "forwarding every message received to $EP" 10
# A live agent first, then a replay whose hello comes between the live one's and its packets.
udp=$(free_port)
RELAY_TRANSPORT=zmq MODE=capture FILTER="udp dst port $udp and udp[8:2] = 0x780a" SOURCE_NAME=live \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port bg live "$PCKTR"
live=$BG_PID
wait_log near 'source "live": host' 10
RELAY_TRANSPORT=zmq MODE=capture READ_FILE="$W/a.pcap" SOURCE_NAME=replay-a \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent_a "$PCKTR"
a=$BG_PID
RELAY_TRANSPORT=zmq MODE=capture READ_FILE="$W/b.pcap" SOURCE_NAME=replay-b \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent_b "$PCKTR"
b=$BG_PID
for p in $a $b; do wait_exit "$p" 15; expect_eq "$EXIT_CODE" 0 "agent $p exit code"; done
udp_burst "$udp" 200
sleep 0.3
kill -TERM "$live"
wait_exit "$live" 10; expect_eq "$EXIT_CODE" 0 "live agent exit code"
wait_log near 'source "live" said goodbye' 10
for s in replay-a replay-b; do wait_log near "source \"$s\" said goodbye" 10; done
kill -TERM "$near"
wait_exit "$near" 10; expect_eq "$EXIT_CODE" 0 "forwarding collector exit code"
grep -q "forwarded [0-9]* messages to $EP: delivered \([0-9]*\), failed 0, dropped 0" "$W/near.log" ||
    fail "the forwarder's totals"
read -r taken delivered < <(sed -n 's/.*forwarded \([0-9]*\) messages to .*: delivered \([0-9]*\),.*/\1 \2/p' "$W/near.log")
expect_eq "$delivered" "$taken" "forwarded messages delivered"
for s in replay-a replay-b live; do wait_log far "source \"$s\" said goodbye" 15; done
# The readable headers name each record's own source's device, not the last hello's.
kcat -C -b "$KAFKA_BROKERS" -t pkts -e -q -f '%h\n' >"$W/headers.txt" 2>/dev/null
python3 - "$W/headers.txt" <<'PY' || fail "records carry another source's headers (headers.txt)"
import sys
n = 0
for line in open(sys.argv[1]):
    h = dict(kv.split("=", 1) for kv in line.strip().split(",") if "=" in kv)
    if h.get("pktr.kind") != "packets":
        continue
    n += 1
    want = {"replay-a": "/a.pcap", "replay-b": "/b.pcap", "live": "lo"}[h["pktr.source"]]
    assert h["pktr.device"].endswith(want), h
assert n > 0
PY
kill -TERM "$far"
wait_exit "$far"; expect_eq "$EXIT_CODE" 0 "far collector exit code"
grep -q 'source "replay-a" totals: received 1500 packets (written 1500, link-type drops 0), lost in transit 0 packets in 0 messages; agent: captured 1500, relayed 1500' \
    "$W/far.log" || fail "far collector totals of replay-a"
grep -q 'source "replay-b" totals: received 1000 packets (written 1000, link-type drops 0), lost in transit 0 packets in 0 messages; agent: captured 1000, relayed 1000' \
    "$W/far.log" || fail "far collector totals of replay-b"
grep -q 'source "live" totals: received 200 packets (written 200, link-type drops 0), lost in transit 0 packets' \
    "$W/far.log" || fail "far collector totals of live"
export PCAP_FILTER="not udp dst port $udp"
diff <(pcap_lines "$W/a.pcap" "$W/b.pcap") <(pcap_lines "$W/near.pcap") >"$W/diff.txt" ||
    fail "the near collector's output is not byte-exact (see diff.txt)"
diff <(pcap_lines "$W/a.pcap" "$W/b.pcap") <(pcap_lines "$W/far.pcap") >"$W/diff.txt" ||
    fail "the far collector's output is not byte-exact (see diff.txt)"
pass "zmq agents -> collector -> FORWARD_ENDPOINT Kafka -> collector: 1500 + 1000 byte-exact at both, 200 live, $taken messages forwarded and delivered"
