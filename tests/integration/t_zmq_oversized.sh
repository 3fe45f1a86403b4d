# A zmq message over the collector's maximum (COLLECT_MAX_MESSAGE) is dropped and counted as
# oversized, and the peer's next messages still arrive. libzmq itself drops a message over
# ZMQ_MAXMSGSIZE with its connection and tells nobody, so the collector sets ZMQ_MAXMSGSIZE above
# its maximum. Played with pyzmq and tests/pktr_wire.py: a valid batch over the default maximum
# (384K), and one just over 16 MiB (the protocol's maximum) to a collector whose
# maximum is 16M.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-zmq

run() { # COLLECT_MAX_MESSAGE (or "") BIG_MESSAGE_BYTES
    local port mport
    port=$(free_port); mport=$(free_port)
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
        OUTPUT="$W/out.pcap" bg collector env ${1:+COLLECT_MAX_MESSAGE=$1} "$PCKTR"
    local col=$BG_PID
    wait_log collector "collecting on"
    "$PY" - "$port" "$mport" "$2" "$TESTS_DIR" <<'PY' || fail "oversized message with max ${1:-default}"
import json, sys, time, urllib.request
sys.path.insert(0, sys.argv[4])
import pktr_wire as w
port, mport, big = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def status():
    return json.load(urllib.request.urlopen("http://127.0.0.1:%s/status" % mport, timeout=5))

z = w.Zmq("tcp://127.0.0.1:%d" % port)
z.send(w.hello(7, 0, "big"))
frame = w.udp_frame(b"x" * 1400)
rec = w.record(frame)
n = big // len(rec) + 1
msg = w.packets(7, 1, "big", 0, None, records=[rec] * n)  # a valid batch, just too large
assert big <= len(msg) < big + 2 * len(rec)
z.send(msg)
z.send(w.packets(7, 2, "big", n, [frame] * 3))  # after it, on the same connection
for _ in range(200):
    s = status()
    if s["messages"]["oversized"] >= 1 and sum(x["packets"] for x in s["sources"]) >= 3:
        break
    time.sleep(0.05)
z.close()
m = s["messages"]
print("messages", m, "sources", [(x["name"], x["packets"]) for x in s["sources"]])
assert m["oversized"] == 1, "the large message is counted as oversized"
assert sum(x["packets"] for x in s["sources"]) == 3, "the next message of the peer arrives"
assert s["security"]["connections"]["accepted"] == 1, "the connection was kept"
PY
    kill -TERM "$col"; wait_exit "$col" 10
    expect_eq "$EXIT_CODE" 0 "collector exit"
}

run "" 500000
pass "a 500 KB batch over the default COLLECT_MAX_MESSAGE is dropped and counted; the peer goes on"
run 16M $((16 * 1024 * 1024 + 1))
pass "a message just over 16 MiB is dropped and counted as oversized"
