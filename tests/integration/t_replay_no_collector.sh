# READ_FILE with no collector listening: the agent gives up after RELAY_TIMEOUT and exits 1,
# saying how many packets were not delivered. With a collector that starts late, nothing is lost.
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 500
port=$(free_port)
rc=0
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_TIMEOUT=1s \
    timeout 20 "$PCKTR" 2>"$W/agent.log" || rc=$?
expect_eq "$rc" 1 "agent exit code without a collector"
grep -q "up to 500 of 500 packets not delivered" "$W/agent.log" || fail "no undelivered count"

# The collector comes up 1 s after the agent started: replay waits, then delivers all.
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_TIMEOUT=10s \
    bg agent "$PCKTR"
ag=$BG_PID
sleep 1
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_exit "$ag" 15; expect_eq "$EXIT_CODE" 0 "agent exit code with a late collector"
wait_log collector "said goodbye"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
diff <(pcap_dump "$W/in.pcap") <(pcap_dump "$W/out.pcap") >/dev/null || fail "late collector: output differs"
pass "no collector: exit 1 with the count; late collector: all 500 delivered"
