# tcp-raw READ_FILE verdict: a collector that accepts the connection and closes it at once
# (here COLLECT_ALLOW refuses 127.0.0.1; a full table does the same) read nothing the agent
# wrote into its socket. The agent must exit 1 and say so, not "relayed 300" and 0. Against a
# collector that takes the connection, the same file is delivered whole and the exit is 0.
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 300
port=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port COLLECT_ALLOW=10.0.0.0/8 \
    bg refusing "$PCKTR" >/dev/null
col=$BG_PID
wait_log refusing "collecting on"
rc=0
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_TIMEOUT=3s \
    timeout 20 "$PCKTR" 2>"$W/agent.log" || rc=$?
expect_eq "$rc" 1 "agent exit code against a refusing collector"
grep -q "connected to collector" "$W/agent.log" || fail "the agent never connected (not the case tested)"
grep -q "closed every connection at once: refused" "$W/agent.log" || fail "no refusal message"
grep -q "up to 300 of 300 packets not delivered" "$W/agent.log" || fail "no undelivered count"
wait_log refusing "refused 127.0.0.1"
kill -TERM "$col"; wait_exit "$col"

port=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "collecting on"
rc=0
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_TIMEOUT=5s \
    timeout 20 "$PCKTR" 2>"$W/agent2.log" || rc=$?
expect_eq "$rc" 0 "agent exit code against a collector that takes it"
wait_log collector "said goodbye"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
diff <(pcap_dump "$W/in.pcap") <(pcap_dump "$W/out.pcap") >/dev/null || fail "output differs"
pass "refused at once: exit 1 with the reason; taken: all 300 delivered, exit 0"
