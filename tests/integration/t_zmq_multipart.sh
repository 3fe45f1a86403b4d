# A zmq peer that sends a multipart message that never ends (every frame with MORE). libzmq
# 4.3.4 counts ZMQ_RCVHWM in whole messages and hides the frames of an unfinished one from the
# reader, so nothing in libzmq bounds it (before: 214 MiB from one peer in a second, the reader
# never stalled). The collector's guard sees libzmq take bytes from that connection while no
# message of it arrives, closes it past its bound and counts a malformed message. A well-behaved
# source beside it loses nothing.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
BOUND_MIB=120 # one connection's bound (about 40 MiB) + what the guard's 20 ms let through
[ "${PK_SANITIZED:-OFF}" = "ON" ] && BOUND_MIB=240
port=$(free_port); mport=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
    OUTPUT="$W/out.pcap" bg collector "$PCKTR"
col=$BG_PID
wait_log collector "collecting on"

bg hoarder "$PY" "$TESTS_DIR/zmq_hostile.py" "$port" multipart 1 300 700000
hoarder=$BG_PID
"$PY" - "$port" "$mport" "$TESTS_DIR" <<'PY' || fail "the well-behaved source"
import json, sys, time, urllib.request
sys.path.insert(0, sys.argv[3])
import pktr_wire as w
z = w.Zmq("tcp://127.0.0.1:%s" % sys.argv[1])
z.send(w.hello(5, 0, "good"))
frame = w.udp_frame(b"g" * 1000)
for i in range(200):  # while the hoarder sends
    z.send(w.packets(5, i + 1, "good", i * 10, [frame] * 10))
    time.sleep(0.01)
for _ in range(100):
    s = json.load(urllib.request.urlopen("http://127.0.0.1:%s/status" % sys.argv[2], timeout=5))
    got = sum(x["packets"] for x in s["sources"] if x["name"] == "good")
    if got == 2000 and s["messages"]["peers_dropped"] >= 1:
        break
    time.sleep(0.1)
z.close()
print("good packets", got, "messages", s["messages"])
assert got == 2000, "the well-behaved source lost packets"
assert s["messages"]["peers_dropped"] == 1, "the hoarder is closed, once"
assert s["messages"]["malformed"] == 1, "and counted as a framing error"
PY
for ((i = 0; i < 100; i++)); do grep -q '^ready' "$W/hoarder.log" && break; sleep 0.1; done
grep -q '^ready multipart peers=1 refused=1' "$W/hoarder.log" || fail "the hoarder was not cut off: $(cat "$W/hoarder.log")"
peak=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$col/status")
echo "peak RSS ${peak} MiB (bound ${BOUND_MIB} MiB)"
[ "$peak" -lt "$BOUND_MIB" ] || fail "peak RSS ${peak} MiB over ${BOUND_MIB} MiB"
grep -qE 'dropped a malformed message from ::ffff:127\.0\.2\.[0-9]+' "$W/collector.log" ||
    fail "not logged" # the hoarder comes from one of 127.0.2.1-16 (zmq_hostile.py)
pass "an endless multipart message: closed, counted, peak ${peak} MiB; the other source lost nothing"
kill -TERM "$col"; wait_exit "$col" 10
expect_eq "$EXIT_CODE" 0 "collector exit"
