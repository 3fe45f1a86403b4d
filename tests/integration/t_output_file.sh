# OUTPUT=file never destroys a capture and is not world-readable: a restart moves the previous
# capture aside (PATH.STAMP, the time of its last write; -2... when taken, never replacing a
# file) and creates a new one with mode 0640 even under umask 000; a symbolic link to a file is
# refused; a full disk (a 512 KiB tmpfs in a private mount namespace) ends the collector with
# exit 1 and a line naming OUTPUT, and the file keeps whole blocks only (it reads to its end).
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 300
python3 "$TESTS_DIR/gen_pcap.py" "$W/big.pcap" 3000 # about 6 MB: more than the small disk
run() { # OUTPUT [FORMAT] [LOGNAME]: a collector writing OUTPUT, fed in.pcap by one agent
    local port log=${3:-collector}
    port=$(free_port)
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port OUTPUT="$1" OUTPUT_FORMAT=${2:-pcap} \
        bg "$log" "$PCKTR"
    col=$BG_PID
    wait_log "$log" "collecting on"
    MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port "$PCKTR" \
        2>>"$W/agent.log" || fail "agent exit $?"
    wait_log "$log" 'said goodbye'
    kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
}

umask 000 # the file mode must not depend on a restrictive umask
out="$W/out.pcap"
run "$out"
expect_eq "$(stat -c %a "$out")" 640 "mode of a new OUTPUT file under umask 000"
expect_eq "$(pcap_count "$out")" 300 "first capture"
touch -d @1700000000 "$out" # its last write: 2023-11-14T22:13:20Z
echo "not to be replaced" >"$out.20231114T221320Z"
rm -f "$W/collector.log"
run "$out"
expect_eq "$(cat "$out.20231114T221320Z")" "not to be replaced" "a file in the way of the move"
expect_eq "$(pcap_count "$out.20231114T221320Z-2")" 300 "the first capture, moved aside"
grep -q "OUTPUT=\"$out\" held a capture: moved aside to \"$out.20231114T221320Z-2\"" "$W/collector.log" ||
    fail "the move is not logged"
expect_eq "$(pcap_count "$out")" 300 "second capture"
expect_eq "$(stat -c %a "$out")" 640 "mode after a restart"
run "$out"
expect_eq "$(ls "$W" | grep -c '^out\.pcap\.')" 3 "captures kept after three runs (+ the planted file)"
pass "a restart moves the old capture aside (never over a file), new files are 0640"

ln -s "$out" "$W/link.pcap"
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) OUTPUT="$W/link.pcap" \
    "$PCKTR" 2>"$W/link.log" && fail "a symbolic link to a file was accepted"
grep -q 'OUTPUT=".*link.pcap" is a symbolic link' "$W/link.log" || fail "no line about the link"
rc=0
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) OUTPUT="$W/no/such/dir/x.pcap" \
    "$PCKTR" 2>"$W/nodir.log" || rc=$?
expect_eq $rc 1 "exit status for an OUTPUT that cannot be created"
grep -q 'OUTPUT=".*x.pcap": cannot create: No such file or directory' "$W/nodir.log" ||
    fail "no line naming OUTPUT"
pass "a link to a file and an uncreatable OUTPUT are refused, naming OUTPUT"

# A full disk, in a private mount namespace so nothing is left mounted.
for fmt in pcap pcapng; do
    port=$(free_port)
    mkdir -p "$W/small"
    unshare -m --propagation private sh -c '
        mount -t tmpfs -o size=512k tmpfs "$1" || exit 99
        MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$2 OUTPUT="$1/full.$3" OUTPUT_FORMAT=$3 "$4"
        echo $? >"$5/full.rc"
        cp "$1/full.$3" "$5/full.$3"' sh "$W/small" "$port" "$fmt" "$PCKTR" "$W" \
        2>"$W/full-$fmt.log" &
    PIDS+=("$!"); ns=$!
    wait_log "full-$fmt" "collecting on"
    MODE=capture READ_FILE="$W/big.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_TIMEOUT=3s \
        "$PCKTR" 2>>"$W/agent.log" || true # the collector stops taking: the agent gives up
    wait_exit "$ns" 20
    expect_eq "$(cat "$W/full.rc")" 1 "collector exit status on a full disk ($fmt)"
    grep -q "OUTPUT=\"$W/small/full.$fmt\": cannot write: No space left on device; the file keeps the [0-9]* bytes of whole blocks" \
        "$W/full-$fmt.log" || fail "no line naming OUTPUT and the full disk ($fmt)"
    kept=$(sed -n 's/.*the file keeps the \([0-9]*\) bytes.*/\1/p' "$W/full-$fmt.log")
    expect_eq "$(stat -c %s "$W/full.$fmt")" "$kept" "file size = bytes said kept ($fmt)"
    [ "$kept" -gt 100000 ] || fail "only $kept bytes kept of a 512 KiB disk ($fmt)"
    # the file ends exactly at a block boundary, walked with python, not with pcktr's code
    python3 - "$W/full.$fmt" <<'PY' || fail "the $fmt file does not end on a whole block"
import struct, sys
data = open(sys.argv[1], "rb").read()
pcap = data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
off, n = (24 if pcap else 0), 0
while off + 12 <= len(data):
    if pcap:  # record header: ts_sec ts_frac caplen len
        off += 16 + struct.unpack_from("<I", data, off + 8)[0]
    else:     # block: type, total length
        off += struct.unpack_from("<I", data, off + 4)[0]
    n += 1
sys.exit(0 if off == len(data) and n > 10 else 1)
PY
    tcpdump -nn -r "$W/full.$fmt" >/dev/null 2>"$W/tcpdump.err" || fail "tcpdump cannot read the $fmt file"
    grep -qi "truncated\|cut short" "$W/tcpdump.err" && fail "tcpdump: $(cat "$W/tcpdump.err")"
    pass "full disk ($fmt): exit 1 naming OUTPUT, $kept bytes kept, ending on a whole block"
done
