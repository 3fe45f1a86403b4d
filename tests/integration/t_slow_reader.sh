# A slow reader on the collector's stdout: the collector's memory stays bounded (its output
# queue fills, it stops taking messages, the back-pressure reaches the replaying agent, which
# waits), and in the end every packet arrives, byte-exact.
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 20000 11 # about 27 MB of packets
port=$(free_port)
# The reader takes 64 KiB every 10 ms: about 6 MB/s, far slower than the relay. A FIFO joins
# them, so the collector's PID is known (a test never signals processes it did not start).
mkfifo "$W/stdout.fifo"
paced_copy "$W/out.pcap" "$W/stdout.fifo" 65536 &
PIDS+=($!)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port OUTPUT_BUFFER=1M bg collector "$PCKTR" \
    >"$W/stdout.fifo"
col=$BG_PID
wait_log collector "collecting on"
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_QUEUE=8 \
    bg agent "$PCKTR"
ag=$BG_PID
peak=0
while kill -0 "$ag" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$col/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss
    sleep 0.1
done
wait_exit "$ag" 60; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector "said goodbye" 30
for ((i = 0; i < 300; i++)); do
    [ "$(stat -c %s "$W/out.pcap")" -ge "$(stat -c %s "$W/in.pcap")" ] && break
    sleep 0.1
done
kill -TERM "$col"
wait_exit "$col" 10
grep -q "captured 20000, relayed 20000, relay drops 0" "$W/agent.log" || fail "agent dropped"
diff <(pcap_dump "$W/in.pcap") <(pcap_dump "$W/out.pcap") >/dev/null || fail "output differs"
# Bound: 1 MiB output queue + one 16 MiB-capped message + libzmq's per-peer buffer (64 messages
# of at most 64 KiB) + the binary. 48 MiB is far below the 27 MB that would pile up unbounded.
# ASan's quarantine and shadow memory make RSS meaningless there; the plain build asserts it.
if [ "${PK_SANITIZED:-OFF}" = ON ]; then
    echo "note: sanitizer build, RSS bound not asserted (peak ${peak} KiB)"
else
    [ "$peak" -lt 49152 ] || fail "collector RSS peaked at ${peak} KiB"
fi
pass "slow reader: 20000 packets delivered byte-exact, collector RSS peak ${peak} KiB"
