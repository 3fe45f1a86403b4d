# READ_FILE replay through agent -> collector is byte-exact: every packet's ns timestamp,
# lengths and bytes equal the input, for a pcap and a pcapng input.
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 3000
editcap -F pcapng "$W/in.pcap" "$W/in.pcapng"
expect_eq "$(pcap_count "$W/in.pcap")" 3000 "generated capture"

for input in in.pcap in.pcapng; do
    port=$(free_port)
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >"$W/out.pcap"
    col=$BG_PID
    wait_log collector "collecting on"
    MODE=capture READ_FILE="$W/$input" RELAY_ENDPOINT=tcp://127.0.0.1:$port SOURCE_NAME=replay \
        "$PCKTR" 2>"$W/agent.log" || fail "agent exited $? for $input"
    grep -q "captured 3000, relayed 3000, relay drops 0" "$W/agent.log" || fail "agent totals"
    wait_log collector 'source "replay" said goodbye'
    kill -TERM "$col"
    wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
    grep -q 'received 3000 packets (written 3000' "$W/collector.log" || fail "collector totals"
    diff <(pcap_dump "$W/in.pcap") <(pcap_dump "$W/out.pcap") >"$W/diff.txt" ||
        fail "$input: output differs from input (see diff.txt)"
    # tshark agrees on the packet count and sees nanosecond precision.
    expect_eq "$(tshark -r "$W/out.pcap" 2>/dev/null | wc -l)" 3000 "tshark count"
    pass "$input replayed byte-exact (3000 packets)"
done
