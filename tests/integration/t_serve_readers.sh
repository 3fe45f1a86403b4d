# One collector, three agents (READ_FILE replays), and at once: stdout into a file, tshark
# reading PCAP-over-IP (classic pcap, microseconds), nc | tcpdump on a filtered endpoint, nc on
# a pcapng endpoint, and an nc frozen with SIGSTOP. The fast readers get exactly what stdout
# got (or its filtered subset), the frozen one's counted drops are exactly what it missed, stdout
# loses nothing, and the collector's memory stays bounded by SERVE_BUFFER.
source "$(dirname "$0")/lib.sh"

N=8000 # per agent; about 35 MB in all, far more than the frozen reader's socket buffers hold
for n in 1 2 3; do python3 "$TESTS_DIR/gen_pcap.py" "$W/in$n.pcap" $N $n; done
relay=$(free_port) http=$(free_port) p1=$(free_port) p2=$(free_port) p3=$(free_port) p4=$(free_port)
# stdout is read at about 25 MB/s (a FIFO and a paced copier), as a tcpdump writing to disk
# might: the lossless primary sets the pace of the relay, the readers keep up with it.
mkfifo "$W/stdout.fifo"
python3 -c '
import sys, time
out = open(sys.argv[1], "wb")
src = open(sys.argv[2], "rb", buffering=0)
while True:
    b = src.read(262144)
    if not b: break
    out.write(b); time.sleep(0.01)
' "$W/stdout.pcap" "$W/stdout.fifo" &
PIDS+=($!); copier=$!
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$relay METRICS_ADDRPORT=127.0.0.1:$http \
    OUTPUT_BUFFER=256K SERVE_BUFFER=1M SERVE_ENDPOINT="tcp://127.0.0.1:$p1,tcp://127.0.0.1:$p2?filter=udp%20port%209001,tcp://127.0.0.1:$p3?format=pcapng,tcp://127.0.0.1:$p4" \
    bg collector "$PCKTR" >"$W/stdout.fifo"
col=$BG_PID
wait_log collector "serving the stream .* on tcp://127.0.0.1:$p4"
tshark -i "TCP@127.0.0.1:$p1" -F pcap -w "$W/tshark.pcap" 2>"$W/tshark.log" &
PIDS+=($!); tsh=$!
(nc 127.0.0.1 "$p2" </dev/null | tcpdump -r - -w "$W/filtered.pcap" 2>/dev/null) &
PIDS+=($!); filt=$!
nc 127.0.0.1 "$p3" </dev/null >"$W/ng.pcapng" &
PIDS+=($!); ng=$!
nc 127.0.0.1 "$p4" </dev/null >"$W/frozen.pcap" &
PIDS+=($!); frozen=$!
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c 'reader .* joined' "$W/collector.log")" -ge 4 ] && break
    sleep 0.05
done
expect_eq "$(grep -c 'reader .* joined' "$W/collector.log")" 4 "readers joined"
kill -STOP "$frozen"

ags=()
for n in 1 2 3; do
    MODE=capture READ_FILE="$W/in$n.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$relay SOURCE_NAME=a$n \
        bg agent$n "$PCKTR"
    ags+=($BG_PID)
done
peak=0
while kill -0 "${ags[0]}" 2>/dev/null || kill -0 "${ags[1]}" 2>/dev/null || kill -0 "${ags[2]}" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$col/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss
    sleep 0.05
done
for a in "${ags[@]}"; do wait_exit "$a" 20; expect_eq "$EXIT_CODE" 0 "agent exit code"; done
for n in 1 2 3; do wait_log collector "source \"a$n\" said goodbye" 20; done
wait_log collector "reader .*:$p4\\) is too slow"
kill -CONT "$frozen"

# status READER_PORT FIELD: a field of the reader on that endpoint, from /status.
status() {
    curl -sf "http://127.0.0.1:$http/status" | python3 -c '
import json, sys
rs = [r for r in json.load(sys.stdin)["readers"] if r["endpoint"].endswith(":" + sys.argv[1])]
r = rs[0]
print(r["dropped"][sys.argv[2]] if sys.argv[2] in r["dropped"] else r[sys.argv[2]])' "$1" "$2"
}
for ((i = 0; i < 200; i++)); do
    [ "$(status "$p4" queue_bytes)" = 0 ] && [ "$(status "$p1" queue_bytes)" = 0 ] && break
    sleep 0.05
done
total=$((3 * N))
got=$(status "$p4" packets) missed=$(status "$p4" queue_full)
[ "$missed" -gt 0 ] || fail "the frozen reader dropped nothing"
expect_eq $((got + missed)) $total "frozen reader: written + queue_full drops"
for p in $p1 $p2 $p3; do expect_eq "$(status "$p" queue_full)" 0 "fast reader on $p: drops"; done
expect_eq "$(status "$p2" filtered)" $((total - $(pcap_count "$W/stdout.pcap" udp port 9001))) \
    "filtered count"
curl -sf "http://127.0.0.1:$http/metrics" >"$W/metrics.txt"
grep -q "^packeteur_reader_dropped_total{kind=\"serve\",endpoint=\"tcp://127.0.0.1:$p4\",peer=\"127.0.0.1:[0-9]*\",cause=\"queue_full\"} $missed\$" \
    "$W/metrics.txt" || fail "metrics: the frozen reader's drops"
sleep 0.5 # the last bytes out of the socket buffers
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
wait_exit "$copier" 10; wait_exit "$tsh" 10; wait_exit "$filt" 10; wait_exit "$ng" 10; wait_exit "$frozen" 10

expect_eq "$(pcap_count "$W/stdout.pcap")" $total "stdout packets"
grep -q "wrote $total packets" "$W/collector.log" || fail "collector total"
dump_us() { tcpdump -tt -nn -x -r "$@" 2>/dev/null; }
diff <(dump_us "$W/stdout.pcap") <(dump_us "$W/tshark.pcap") >/dev/null || fail "tshark's copy differs"
diff <(dump_us "$W/stdout.pcap" udp port 9001) <(dump_us "$W/filtered.pcap") >/dev/null ||
    fail "the filtered copy differs from tcpdump -r stdout.pcap 'udp port 9001'"
diff <(pcap_dump "$W/stdout.pcap") <(pcap_dump "$W/ng.pcapng") >/dev/null || fail "pcapng copy differs"
expect_eq "$(tshark -r "$W/ng.pcapng" 2>/dev/null | wc -l)" $total "tshark reads the pcapng copy"
expect_eq "$(pcap_count "$W/frozen.pcap")" "$got" "the frozen reader's file"
grep -q "reader .*:$p4) caught up: $missed packets dropped" "$W/collector.log" || fail "episode end"
# Bound: the stdout queue, 4 readers x 1 MiB, the transport's buffers and the binary; 35 MB
# would be held by a queue that did not drop. ASan makes RSS meaningless.
if [ "${PK_SANITIZED:-OFF}" = ON ]; then
    echo "note: sanitizer build, RSS bound not asserted (peak ${peak} KiB)"
else
    [ "$peak" -lt 65536 ] || fail "collector RSS peaked at ${peak} KiB"
fi
pass "3 agents x $N packets: stdout, tshark, filtered ($(pcap_count "$W/filtered.pcap")), pcapng readers exact; frozen reader got $got, dropped $missed (counted); RSS peak ${peak} KiB"
