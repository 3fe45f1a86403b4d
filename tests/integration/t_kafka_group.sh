# Kafka: two collectors in one consumer group split a 4-partition topic; together they write
# every packet exactly once. One is killed (SIGKILL: it cannot leave the group nor commit): the
# other takes its partitions over from the offsets it committed; restarted, it takes its share
# back. Every packet of four replays and of two live sources is written once, in one of the
# three outputs; duplicates read again are dropped by sequence number (and counted).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/kafka_lib.sh"

kafka_start pkts 4
EP=kafka://$KAFKA_BROKERS/pkts
collector() { # collector NAME: a member of group g writing to $W/NAME.pcap, /metrics on a port
    eval "m_$1=\$(free_port)"
    KAFKA_OPTIONS=$GROUP_OPTIONS COLLECT_GROUP=g MODE=collect COLLECT_ENDPOINT=$EP \
        OUTPUT="$W/$1.pcap" METRICS_ADDRPORT="127.0.0.1:$(eval echo "\$m_$1")" bg "$1" "$PCKTR"
}
duplicates() { # duplicates NAME: messages its source table dropped as read before
    curl -s "http://127.0.0.1:$(eval echo "\$m_$1")/metrics" |
        awk '/^packeteur_source_duplicate_messages_total/ {s += $2} END {print s + 0}'
}
collector a; a=$BG_PID
wait_log a "assigned 4 partitions" 15
collector b; b=$BG_PID
wait_log b "assigned 2 partitions" 15
u1=$(free_port); u2=$(free_port)
MODE=capture FILTER="udp dst port $u1 and udp[8:2] = 0x780a" SOURCE_NAME=live1 RELAY_ENDPOINT=$EP bg live1 "$PCKTR"
l1=$BG_PID
MODE=capture FILTER="udp dst port $u2 and udp[8:2] = 0x780a" SOURCE_NAME=live2 RELAY_ENDPOINT=$EP bg live2 "$PCKTR"
l2=$BG_PID
for n in 1 2 3 4; do
    python3 "$TESTS_DIR/gen_pcap.py" "$W/in$n.pcap" 400 "$n"
    MODE=capture READ_FILE="$W/in$n.pcap" SOURCE_NAME=replay$n RELAY_ENDPOINT=$EP \
        bg "replay$n" "$PCKTR"
    eval "r$n=\$BG_PID"
done
sleep 1 # the live agents' first hello
udp_burst "$u1" 100; udp_burst "$u2" 100
for n in 1 2 3 4; do eval "wait_exit \$r$n 10"; expect_eq "$EXIT_CODE" 0 "replay $n exit code"; done
sleep 1.5 # everything written is committed (every 200 ms)
kill -KILL "$a"; wait_exit "$a"
# b takes a's partitions once a's session times out (3 s); meanwhile the agents queue.
udp_burst "$u1" 100; udp_burst "$u2" 100
wait_log b "assigned 4 partitions" 15
udp_burst "$u1" 100; udp_burst "$u2" 100
sleep 1 # committed (a rebalance refuses commits: what is not committed then is read again)
collector a2; a2=$BG_PID
wait_log a2 "assigned 2 partitions" 15
udp_burst "$u1" 100; udp_burst "$u2" 100
sleep 0.5
kill -TERM "$l1" "$l2"
wait_exit "$l1"; wait_exit "$l2"
grep -q "captured 400, relayed 400, relay drops 0" "$W/live1.log" || fail "live1 totals"
grep -q "captured 400, relayed 400, relay drops 0" "$W/live2.log" || fail "live2 totals"
for s in live1 live2; do # each said goodbye to whichever collector owns its partition
    for ((i = 0; i < 100; i++)); do
        grep -q "source \"$s\" said goodbye" "$W/b.log" "$W/a2.log" && break
        sleep 0.05
    done
done
dups=$(($(duplicates b) + $(duplicates a2)))
kill -TERM "$b" "$a2"
wait_exit "$b"; expect_eq "$EXIT_CODE" 0 "collector b exit code"
wait_exit "$a2"; expect_eq "$EXIT_CODE" 0 "collector a2 exit code"

outs=("$W/a.pcap" "$W/b.pcap" "$W/a2.pcap")
for u in $u1 $u2; do
    total=0
    for f in "${outs[@]}"; do
        if [ -s "$f" ]; then total=$((total + $(pcap_count "$f" "udp dst port $u"))); fi
    done
    expect_eq "$total" 400 "live packets to port $u in the three outputs"
done
PCAP_FILTER="not (udp dst port $u1 or udp dst port $u2)" pcap_lines "${outs[@]}" >"$W/replayed.txt"
diff <(pcap_lines "$W"/in[1-4].pcap) "$W/replayed.txt" >"$W/diff.txt" ||
    fail "the replays are not there exactly once (see diff.txt)"
pass "two collectors in a group, one killed and restarted: 1600 replayed + 800 live packets, each written once ($dups duplicate messages dropped)"
