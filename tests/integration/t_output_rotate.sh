# OUTPUT_ROTATE and OUTPUT_KEEP. By size under a replay (pcap and pcapng): every packet is in
# exactly one file (the completed ones in name order, then the one being written, compared
# with the input packet by packet), each file reads cleanly on its own (tcpdump; tshark, and
# each pcapng file has its own section and interface blocks); OUTPUT_KEEP keeps the newest. By
# time under live traffic on lo: files complete on the interval, also when nothing more arrives
# (an idle collector). A crashed run (SIGKILL) leaves its file hidden; the next start completes
# it as it was, never truncated. A full disk ends the collector (exit 1) with every file
# completed and readable. Bad values exit 2 naming the variable.
source "$(dirname "$0")/lib.sh"

# Packet by packet, with absolute TCP sequence numbers (relative ones restart in every file).
dump() { tcpdump --time-stamp-precision=nano -tt -nn -S -x -r "$1" 2>/dev/null; }
python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 3000 # about 4 MB
dump "$W/in.pcap" >"$W/in.dump"

# start_collector DIR [VAR=VALUE...]: a collector writing DIR/site.pcap; sets $col and $port.
start_collector() {
    local dir=$1; shift
    mkdir -p "$dir"
    port=$(free_port)
    bg collector env MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port OUTPUT="$dir/site.pcap" \
        "$@" "$PCKTR"
    col=$BG_PID
    wait_log collector "collecting on"
}
replay() {
    MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port "$PCKTR" \
        2>>"$W/agent.log" || fail "agent exit $?"
}
stop_collector() {
    kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
}
completed() { ls "$1" | { grep -E '^site-[0-9]{8}T[0-9]{6}\.[0-9]{3}Z\.pcap$' || true; } | sed "s|^|$1/|"; }
# readable FILE: tcpdump reads it to its end without complaint.
readable() {
    tcpdump -nn -r "$1" >/dev/null 2>"$W/tcpdump.err" || fail "tcpdump cannot read $1: $(cat "$W/tcpdump.err")"
    grep -qi "truncated\|cut short" "$W/tcpdump.err" && fail "$1: $(cat "$W/tcpdump.err")"
    return 0
}

# By size, pcap: packets checked while the collector still runs (the current file included).
d=$W/size
start_collector "$d" OUTPUT_ROTATE=512K
replay
wait_log collector 'said goodbye'
files=$(completed "$d")
n=$(echo "$files" | wc -l)
[ "$n" -ge 6 ] || fail "only $n files completed for 4 MB at 512K"
current=$(ls -a "$d" | grep -E '^\.site-.*\.pcap\.part$') || fail "no file being written"
for f in $files; do
    readable "$f"
    size=$(stat -c %s "$f")
    [ "$size" -ge 524288 ] && [ "$size" -lt $((524288 + 9100)) ] ||
        fail "$f: $size bytes, not cut at the first record past 512K"
done
for f in $files "$d/$current"; do dump "$f"; done >"$W/size.dump"
cmp -s "$W/size.dump" "$W/in.dump" || fail "the files together are not the input, packet by packet"
stop_collector
[ -z "$(ls -a "$d" | grep '\.part$')" ] || fail "a hidden file is left after a clean stop"
expect_eq "$(completed "$d" | wc -l)" $((n + 1)) "files after the stop (the last one completed)"
for f in $(completed "$d"); do dump "$f"; done | cmp -s - "$W/in.dump" ||
    fail "after the stop, the files together are not the input"
expect_eq "$(stat -c %a "$(completed "$d" | head -1)")" 640 "mode of a completed file"
pass "size rotation (pcap): $((n + 1)) files, each whole and readable, every packet once"

# By size, pcapng, two sources one after the other: each file is a section of its own with the
# interface block of every source known when it started (so one, then two).
d=$W/ng
start_collector "$d" OUTPUT_ROTATE=1M OUTPUT_FORMAT=pcapng
SOURCE_NAME=first replay
SOURCE_NAME=second replay
wait_log collector 'source "second" said goodbye'
stop_collector
cat >"$W/check.py" <<'PY'
import json, sys  # one section, packets, whole blocks to the end; prints the interface blocks
b = json.load(open(sys.argv[1]))
c = b["counts"]
ok = c.get("shb") == 1 and c.get("epb", 0) > 0 and b["complete_bytes"] == int(sys.argv[2])
print(c.get("idb", 0))
sys.exit(0 if ok else 1)
PY
n=0 both=0
for f in $(completed "$d"); do
    n=$((n + 1))
    python3 "$TESTS_DIR/pcapng_blocks.py" "$f" >"$W/blocks"
    idbs=$(python3 "$W/check.py" "$W/blocks" "$(stat -c %s "$f")") || fail "$f: $(cat "$W/blocks")"
    tshark -r "$f" -T fields -e frame.interface_name >"$W/ifnames" 2>"$W/tshark.err" ||
        fail "tshark cannot read $f: $(cat "$W/tshark.err")"
    grep -qv '^first$\|^second$' "$W/ifnames" && fail "$f: packets without their interface"
    if grep -q '^second$' "$W/ifnames"; then
        expect_eq "$idbs" 2 "interface blocks in $f (a file with the second source's packets)"
        both=$((both + 1))
    elif [ "$both" -gt 0 ]; then
        fail "$f: the first source's packets after the second's"
    fi
    cat "$W/ifnames"
done >"$W/all.ifnames"
[ "$n" -ge 6 ] || fail "only $n pcapng files"
[ "$both" -ge 3 ] || fail "only $both files with both interfaces"
expect_eq "$(grep -c '^first$' "$W/all.ifnames")" 3000 "packets of the first source over all files"
expect_eq "$(grep -c '^second$' "$W/all.ifnames")" 3000 "packets of the second source"
pass "size rotation (pcapng): $n files, each a section with every interface known, 6000 packets"

# OUTPUT_KEEP=2: the two newest files, which end with the last packets.
d=$W/keep
mport=$(free_port)
start_collector "$d" OUTPUT_ROTATE=512K OUTPUT_KEEP=2 METRICS_ADDRPORT=127.0.0.1:$mport
replay
wait_log collector 'said goodbye'
curl -sf "http://127.0.0.1:$mport/status" >"$W/status.json" || fail "no /status"
python3 - "$W/status.json" <<'PY' || fail "/status output.rotation: $(cat "$W/status.json")"
import json, sys
r = json.load(open(sys.argv[1]))["output"]["rotation"]
sys.exit(0 if r["completed"] >= 6 and r["deleted"] == r["completed"] - 2 and r["failures"] == 0
         and "/.site-" in r["current"] and r["current"].endswith(".pcap.part") else 1)
PY
curl -sf "http://127.0.0.1:$mport/metrics" >"$W/metrics.txt" || fail "no /metrics"
grep -q '^packeteur_output_files_total{event="deleted"} [1-9]' "$W/metrics.txt" ||
    fail "/metrics lacks the deleted files"
stop_collector
expect_eq "$(completed "$d" | wc -l)" 2 "files kept with OUTPUT_KEEP=2"
for f in $(completed "$d"); do dump "$f"; done >"$W/keep.dump"
tail -c "$(stat -c %s "$W/keep.dump")" "$W/in.dump" | cmp -s - "$W/keep.dump" ||
    fail "the files kept are not the newest"
pass "OUTPUT_KEEP=2 keeps the two newest files"

# A crash (SIGKILL) leaves the file being written hidden; a restart completes it as it is.
d=$W/crash
start_collector "$d" OUTPUT_ROTATE=100M
replay
wait_log collector 'said goodbye'
sleep 0.3 # written (a SIGKILL during a write would leave a last packet cut short, as documented)
kill -9 "$col"; wait "$col" 2>/dev/null || true
part=$(ls -a "$d" | grep -E '^\.site-.*\.pcap\.part$') || fail "no hidden file after a crash"
sum=$(md5sum <"$d/$part")
rm -f "$W/collector.log"
start_collector "$d" OUTPUT_ROTATE=100M
grep -q "OUTPUT_ROTATE: completed 1 file(s) an earlier run left unfinished" "$W/collector.log" ||
    fail "the recovery is not logged"
done_name=$(echo "$part" | sed 's/^\.//; s/\.part$//')
expect_eq "$(md5sum <"$d/$done_name")" "$sum" "the crashed run's file, completed as it was"
replay
wait_log collector 'said goodbye'
stop_collector
expect_eq "$(completed "$d" | wc -l)" 2 "files after a crash and a restart"
for f in $(completed "$d"); do
    readable "$f"
    expect_eq "$(pcap_count "$f")" 3000 "packets in $f"
done
pass "a restart after a crash completes the hidden file whole, truncating nothing"

# By time, live traffic on lo: files complete each second, and on time with no more traffic.
d=$W/time
udp=$(free_port)
start_collector "$d" OUTPUT_ROTATE=1s
MODE=capture DEVICE=lo FILTER="udp port $udp" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    HEARTBEAT_INTERVAL=100ms bg agent "$PCKTR"
wait_log agent "connected to collector"
wait_log collector "source .*filter"
K=50
for ((i = 1; i <= K; i++)); do echo "seq-$i-" >"/dev/udp/127.0.0.1/$udp"; sleep 0.05; done
sleep 1.6 # idle: the file with the last packets completes at the next second
files=$(completed "$d")
n=$(echo "$files" | wc -l)
[ "$n" -ge 2 ] || fail "only $n files in about 4 s of 1 s rotation"
for f in $files; do readable "$f"; tcpdump -nn -A -r "$f" 2>/dev/null | grep -o 'seq-[0-9]*-'; done \
    >"$W/seen"
expect_eq "$(sort -u "$W/seen" | wc -l)" "$K" "distinct datagrams in completed files"
expect_eq "$(wc -l <"$W/seen")" "$K" "datagrams in completed files (each once)"
part=$(ls -a "$d" | grep -E '^\.site-.*\.pcap\.part$') || fail "no file being written"
expect_eq "$(pcap_count "$d/$part" 2>/dev/null || echo 0)" 0 "packets in the idle current file"
for f in $(echo "$files" | tail -n +2); do # started on a boundary (give or take the loop)
    ms=$(basename "$f" | sed 's/.*\.\([0-9]\{3\}\)Z\.pcap$/\1/')
    [ "$((10#$ms))" -lt 300 ] || fail "$f: not started on a second boundary"
done
kill -TERM "$BG_PID"; wait_exit "$BG_PID"
stop_collector
[ -z "$(ls -a "$d" | grep '\.part$')" ] || fail "an empty hidden file is left after the stop"
pass "time rotation: $n files on 1 s boundaries, the last completed while idle, $K datagrams once"

# A full disk (a 1.5 MiB tmpfs in a private mount namespace): exit 1 naming the file, and every
# file, the last one too, is completed and reads cleanly to its end.
d=$W/small
mkdir -p "$d"
port=$(free_port)
unshare -m --propagation private sh -c '
    mount -t tmpfs -o size=1500k tmpfs "$1" || exit 99
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$2 OUTPUT="$1/site.pcap" OUTPUT_ROTATE=512K "$3"
    echo $? >"$4/full.rc"
    mkdir "$4/full" && cp -a "$1"/. "$4/full/"' sh "$d" "$port" "$PCKTR" "$W" 2>"$W/full.log" &
PIDS+=("$!"); ns=$!
wait_log full "collecting on"
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_TIMEOUT=2s \
    "$PCKTR" 2>>"$W/agent.log" || true # the collector stops taking: the agent gives up
wait_exit "$ns" 15
expect_eq "$(cat "$W/full.rc")" 1 "collector exit status on a full disk"
grep -q "cannot write: No space left on device; the file \"$d/\.site-.*\.pcap\.part\" (OUTPUT_ROTATE) keeps" \
    "$W/full.log" || fail "no line naming the file on a full disk"
[ -z "$(ls -a "$W/full" | grep '\.part$')" ] || fail "a hidden file is left after a full disk"
n=0
for f in $(completed "$W/full"); do readable "$f"; n=$((n + 1)); done
[ "$n" -ge 2 ] || fail "only $n files on a full disk"
pass "a full disk: exit 1 naming the file, all $n files complete and readable"

# Bad values: one line naming the variable, exit 2.
for bad in "100" "0M" "1h,2h" "10M,20M" "100X" "500ms" "," "-"; do
    rc=0
    MODE=collect OUTPUT="$W/x.pcap" OUTPUT_ROTATE="$bad" "$PCKTR" 2>"$W/bad.log" || rc=$?
    expect_eq "$rc" 2 "exit status for OUTPUT_ROTATE=\"$bad\""
    grep -q "OUTPUT_ROTATE=\"$bad\" is invalid; accepted:" "$W/bad.log" || fail "no line for \"$bad\""
done
rc=0
MODE=collect OUTPUT_ROTATE=1h "$PCKTR" 2>"$W/bad.log" || rc=$?
expect_eq "$rc" 2 "exit status for OUTPUT_ROTATE with stdout"
grep -q 'OUTPUT_ROTATE="1h" is set with OUTPUT="-"' "$W/bad.log" || fail "no line for stdout"
rc=0
MODE=collect OUTPUT="$W/x.pcap" OUTPUT_KEEP=3 "$PCKTR" 2>"$W/bad.log" || rc=$?
expect_eq "$rc" 2 "exit status for OUTPUT_KEEP without OUTPUT_ROTATE"
pass "bad OUTPUT_ROTATE and OUTPUT_KEEP values exit 2 naming the variable"
