# Three agents with different SOURCE_NAMEs into one collector: every packet of each arrives.
source "$(dirname "$0")/lib.sh"

port=$(free_port); K=200
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
declare -a agents udps
for n in 1 2 3; do
    udps[$n]=$(free_port)
    MODE=capture FILTER="udp dst port ${udps[$n]}" SOURCE_NAME="host-$n" \
        RELAY_ENDPOINT=tcp://127.0.0.1:$port bg "agent$n" "$PCKTR"
    agents[$n]=$BG_PID
done
for n in 1 2 3; do wait_log collector "source \"host-$n\": host"; done
bursts=()
for n in 1 2 3; do udp_burst "${udps[$n]}" $((K * n)) & bursts+=($!); done
wait "${bursts[@]}"
sleep 0.5
for n in 1 2 3; do kill -TERM "${agents[$n]}"; done
for n in 1 2 3; do wait_exit "${agents[$n]}"; expect_eq "$EXIT_CODE" 0 "agent $n exit code"; done
for n in 1 2 3; do wait_log collector "source \"host-$n\" said goodbye"; done
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

for n in 1 2 3; do
    expect_eq "$(pcap_count "$W/out.pcap" "udp dst port ${udps[$n]}")" $((K * n)) "packets of host-$n"
    grep -q "source \"host-$n\" totals: received $((K * n)) packets (written $((K * n))" \
        "$W/collector.log" || fail "collector totals for host-$n"
done
pass "three agents: $K, $((2 * K)), $((3 * K)) packets all arrived"
