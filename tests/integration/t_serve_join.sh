# Readers that join mid-stream get a valid header: a pcapng reader a section and the interface
# of every source seen so far (the numbering the primary pcapng output uses too), a classic
# pcap reader the stream's file header; then every packet from then on.
source "$(dirname "$0")/lib.sh"

N=300
for n in 1 2 3; do python3 "$TESTS_DIR/gen_pcap.py" "$W/in$n.pcap" $N $n; done
relay=$(free_port) png=$(free_port) pcap=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$relay OUTPUT_FORMAT=pcapng \
    SERVE_ENDPOINT="tcp://127.0.0.1:$png?format=pcapng,tcp://127.0.0.1:$pcap" \
    bg collector "$PCKTR" >"$W/stdout.pcapng"
col=$BG_PID
wait_log collector "serving the stream .* on tcp://127.0.0.1:$pcap"
replay() {
    MODE=capture READ_FILE="$W/in$1.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$relay SOURCE_NAME=a$1 \
        "$PCKTR" 2>"$W/agent$1.log" || fail "agent $1 exited $?"
    wait_log collector "source \"a$1\" said goodbye"
}
replay 1
replay 2
nc 127.0.0.1 "$png" </dev/null >"$W/late.pcapng" &
PIDS+=($!); r1=$!
nc 127.0.0.1 "$pcap" </dev/null >"$W/late.pcap" &
PIDS+=($!); r2=$!
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c 'reader .* joined' "$W/collector.log")" -ge 2 ] && break
    sleep 0.05
done
replay 3
sleep 0.3
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
wait_exit "$r1"; wait_exit "$r2"

blocks=$(python3 "$TESTS_DIR/pcapng_blocks.py" "$W/late.pcapng")
counts=$(echo "$blocks" | python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; print(c.get("shb",0), c.get("idb",0), c.get("epb",0))')
expect_eq "$counts" "1 3 $N" "late pcapng reader: sections, interfaces, packets"
ids() { tshark -r "$1" -T fields -e frame.interface_id -e frame.interface_name 2>/dev/null | sort -u; }
expect_eq "$(ids "$W/late.pcapng")" "$(printf '2\ta3')" "late reader: interface of a3"
expect_eq "$(ids "$W/stdout.pcapng")" "$(printf '0\ta1\n1\ta2\n2\ta3')" "stdout: the same numbering"
diff <(pcap_dump "$W/in3.pcap") <(pcap_dump "$W/late.pcapng") >/dev/null || fail "pcapng copy differs"
dump_us() { tcpdump -tt -nn -x -r "$1" 2>/dev/null; }
diff <(dump_us "$W/in3.pcap") <(dump_us "$W/late.pcap") >/dev/null || fail "pcap copy differs"
pass "readers joining mid-stream: pcapng with all 3 interfaces (ids as stdout's), pcap header; $N packets each"
