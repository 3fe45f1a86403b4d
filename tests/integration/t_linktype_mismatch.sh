# A source whose link type differs from the stream's (Linux cooked next to Ethernet): its
# packets are dropped, counted per source and in total, and warned about once; the first source's
# packets are all written, and the pcap stream stays readable.
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_pcap.py" "$W/eth.pcap" 400
editcap -T linux-sll "$W/eth.pcap" "$W/sll.pcap" # same bytes, declared as Linux cooked
port=$(free_port); mcol=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "collecting on"
MODE=capture READ_FILE="$W/eth.pcap" SOURCE_NAME=ethernet RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    "$PCKTR" 2>"$W/agent1.log" || fail "first agent failed"
MODE=capture READ_FILE="$W/sll.pcap" SOURCE_NAME=cooked RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    "$PCKTR" 2>"$W/agent2.log" || fail "second agent failed"
wait_log collector 'source "cooked" said goodbye'
curl -sf "http://127.0.0.1:$mcol/metrics" >"$W/metrics.prom" || fail "/metrics"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

expect_eq "$(pcap_count "$W/out.pcap")" 400 "packets written (the Ethernet source's)"
grep -q 'source "cooked" totals: received 400 packets (written 0, link-type drops 400)' \
    "$W/collector.log" || fail "per-source link-type drops"
expect_eq "$(grep -c 'source "cooked" has link type 113 but the pcap stream has 1' "$W/collector.log")" 1 \
    "one warning"
grep -q '^packeteur_output_drops_total{cause="linktype"} 400$' "$W/metrics.prom" || fail "metric"
grep -q '^packeteur_source_linktype_drops_total{source="cooked"} 400$' "$W/metrics.prom" || fail "source metric"
pass "link-type mismatch: 400 dropped, counted and warned about once; 400 written"
