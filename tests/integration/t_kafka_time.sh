# Kafka: read the fleet's traffic by time. Three bursts a second apart; a collector (a group of
# its own) with COLLECT_START and COLLECT_STOP at RFC 3339 times between them writes exactly the
# middle one and exits 0 by itself; COLLECT_START=-DURATION with COLLECT_STOP=now writes the
# last two, COLLECT_START=earliest with COLLECT_STOP=now all three; bad times exit 2.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

for v in "COLLECT_START=yesterday" "COLLECT_START=2026-13-01T00:00:00Z" "COLLECT_STOP=soon" \
    "COLLECT_START=2026-12-02T10:00:00Z COLLECT_STOP=2026-12-02T09:00:00Z"; do
    rc=0
    env $v MODE=collect RELAY_TRANSPORT=kafka COLLECT_ENDPOINT=kafka://127.0.0.1:9/t \
        timeout 5 "$PCKTR" 2>"$W/bad.log" || rc=$?
    expect_eq "$rc" 2 "$v exit code"
done

kafka_start pkts 2
EP=kafka://$KAFKA_BROKERS/pkts
udp=$(free_port)
MODE=capture SOURCE_NAME=live RELAY_ENDPOINT=$EP FILTER="udp dst port $udp and udp[8:2] = 0x780a" \
    bg agent "$PCKTR"
agent=$BG_PID
wait_log agent "connected to collector" 10
now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
udp_burst "$udp" 100; sleep 1
t1=$(now); sleep 1
udp_burst "$udp" 150; sleep 1
t2=$(now); sleep 1
udp_burst "$udp" 80; sleep 0.5
kill -TERM "$agent"; wait_exit "$agent"; expect_eq "$EXIT_CODE" 0 "agent exit code"

run() { # run NAME START STOP EXPECTED: a collector of group NAME ends by itself, writes EXPECTED
    local name=$1 pid
    KAFKA_OPTIONS=$GROUP_OPTIONS COLLECT_GROUP=$name COLLECT_START=$2 COLLECT_STOP=$3 \
        MODE=collect COLLECT_ENDPOINT=$EP bg "$name" "$PCKTR" >"$W/$name.pcap"
    pid=$BG_PID
    wait_exit "$pid" 20; expect_eq "$EXIT_CODE" 0 "$name exit code"
    grep -q "end of input (COLLECT_STOP reached)" "$W/$name.log" || fail "$name: no end of input"
    expect_eq "$(pcap_count "$W/$name.pcap" "udp dst port $udp")" "$4" "$name: packets written"
}
run between "$t1" "$t2" 150 &
p1=$!
run last "-$(( $(date +%s%3N) - $(date -d "$t1" +%s%3N) ))ms" now 230 & # from about $t1
p2=$!
run all earliest now 330 &
p3=$!
for p in $p1 $p2 $p3; do wait "$p" || fail "a timed collector failed (see its log)"; done
pass "COLLECT_START/STOP by time: $t1..$t2 gave the middle burst and exit 0; -DURATION..now the last two; earliest..now all"
