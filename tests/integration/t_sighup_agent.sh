# SIGHUP never costs an agent a packet: during live capture on lo (zmq with a CURVE key file,
# which SIGHUP reads again: a bad file is logged and the key in force stays; another key is
# logged as applying from the next start) and during a back-pressured READ_FILE replay over
# tcp-raw, every packet arrives, each SIGHUP is one log line, and the agent exits 0.
source "$(dirname "$0")/lib.sh"

for k in collector agent other; do "$PCKTR" keygen >"$W/$k.key" 2>/dev/null; done
chmod 600 "$W"/*.key
cp "$W/agent.key" "$W/agent.key.orig"
pub() { sed -n 's/^public-key: //p' "$1"; }

# --- live capture on lo, zmq + CURVE
port=$(free_port); udp=$(free_port); N=600
MODE=collect RELAY_TRANSPORT=zmq COLLECT_ENDPOINT=tcp://127.0.0.1:$port \
    COLLECT_CURVE_SECRETKEY="$W/collector.key" bg collector "$PCKTR" >"$W/live.pcap"
col=$BG_PID
wait_log collector "collecting on"
MODE=capture RELAY_TRANSPORT=zmq FILTER="udp dst port $udp" SOURCE_NAME=live \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_CURVE_SERVERKEY="$(pub "$W/collector.key")" \
    RELAY_CURVE_SECRETKEY="$W/agent.key" bg agent "$PCKTR"
ag=$BG_PID
wait_log collector 'source "live": host'
hups=0
# Each SIGHUP waits (bounded) for the line of the one before: two sent while the loop is busy
# would be one pending signal for the kernel, and the count below would prove nothing.
hup() {
    local i
    for ((i = 0; i < 100; i++)); do [ "$(grep -c 'SIGHUP: ' "$W/agent.log")" -ge "$hups" ] && break; sleep 0.02; done
    kill -HUP "$ag" 2>/dev/null || fail "the agent is gone after $hups SIGHUPs"
    hups=$((hups + 1))
}
for ((r = 0; r < 20; r++)); do
    udp_burst "$udp" $((N / 20)) &
    burst=$!
    hup
    case $r in
    5) echo "secret-key: not a key" >"$W/agent.key" ;;                     # a bad file
    10) cp "$W/other.key" "$W/agent.key" ;;                                # another key
    15) cp "$W/agent.key.orig" "$W/agent.key" ;;                           # back
    esac
    wait "$burst"
    sleep 0.02
done
wait_log agent "SIGHUP: .* is not a CURVE key.*; the key in force stays"
grep -F "the key in force stays (public key $(pub "$W/agent.key.orig"))" "$W/agent.log" >/dev/null ||
    fail "a bad key file: the line does not name the key in force"
wait_log agent "SIGHUP: RELAY_CURVE_SECRETKEY=.* now holds another key .*it applies from the agent's next start"
grep -F "now holds another key (public key $(pub "$W/other.key"))" "$W/agent.log" >/dev/null ||
    fail "another key: the line does not name it"
for ((i = 0; i < 100; i++)); do [ "$(grep -c 'SIGHUP: ' "$W/agent.log")" -ge "$hups" ] && break; sleep 0.05; done
expect_eq "$(grep -c 'SIGHUP: ' "$W/agent.log")" "$hups" "one log line per SIGHUP"
grep -q "read again: the same key" "$W/agent.log" || fail "no 'same key' line"
kill -0 "$ag" || fail "the agent died of SIGHUP"
sleep 0.5
kill -TERM "$ag"; wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code (live)"
wait_log collector 'source "live" said goodbye'
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code (live)"
grep -q "captured $N, relayed $N, relay drops 0" "$W/agent.log" || fail "agent totals (live): $(grep done: "$W/agent.log")"
expect_eq "$(pcap_count "$W/live.pcap" "udp dst port $udp")" "$N" "packets written (live, $hups SIGHUPs)"
pass "live capture: $N of $N packets through $hups SIGHUPs (a bad key file, another key, the same key)"

# --- READ_FILE over tcp-raw, held back by a slow reader so the replay lasts
M=200000
python3 - "$W/small.pcap" "$M" <<'PY'
import struct, sys
out, n = sys.argv[1], int(sys.argv[2])
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        frame = b"\x02" * 12 + b"\x08\x00" + struct.pack("!I", i) * 11
        f.write(struct.pack("<IIII", 1700000000 + i // 1000000, i % 1000000, len(frame), len(frame)) + frame)
PY
port=$(free_port)
MODE=collect RELAY_TRANSPORT=tcp-raw COLLECT_ENDPOINT=tcp://127.0.0.1:$port OUTPUT_BUFFER=256K \
    bg collector2 "$PCKTR" > >(python3 -c '
import sys, time
src, dst = sys.stdin.buffer, open(sys.argv[1], "wb")
while True:
    b = src.read1(16384)
    if not b:
        break
    dst.write(b)
    time.sleep(0.01)' "$W/replay.pcap")
col=$BG_PID
wait_log collector2 "collecting on"
MODE=capture RELAY_TRANSPORT=tcp-raw READ_FILE="$W/small.pcap" SOURCE_NAME=replay \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_QUEUE=4 bg agent2 "$PCKTR"
ag=$BG_PID
wait_started "$ag" || true # a SIGHUP before main would kill any program
hups=0
while kill -HUP "$ag" 2>/dev/null; do hups=$((hups + 1)); sleep 0.02; done
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code (READ_FILE, $hups SIGHUPs)"
[ "$hups" -ge 20 ] || fail "the replay ended after $hups SIGHUPs: too fast to test"
grep -q "captured $M, relayed $M, relay drops 0" "$W/agent2.log" || fail "agent totals (READ_FILE)"
# The queue is full to the end: the goodbye waits for room, and closes the books.
wait_log collector2 'source "replay" said goodbye' 20
kill -TERM "$col"; wait_exit "$col" 20; expect_eq "$EXIT_CODE" 0 "collector exit code (READ_FILE)"
for ((i = 0; i < 100; i++)); do [ "$(pcap_count "$W/replay.pcap")" = "$M" ] && break; sleep 0.1; done
expect_eq "$(pcap_count "$W/replay.pcap")" "$M" "packets written (READ_FILE)"
pass "READ_FILE: $M of $M packets through $hups SIGHUPs"
