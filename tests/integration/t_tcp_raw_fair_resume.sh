# Starvation after back-pressure: a slow reader on stdout keeps pausing intake; an agent that
# connected before 40 busy peers must still get its share when intake resumes (round-robin),
# not wait behind every connection that came after it.
source "$(dirname "$0")/lib.sh"

port=$(free_port); mcol=$(free_port)
mkfifo "$W/stdout.fifo"
python3 -c ' # about 3 MB/s: far slower than 41 peers can send
import sys, time
src = open(sys.argv[1], "rb", buffering=0)
while src.read(32768):
    time.sleep(0.01)
' "$W/stdout.fifo" &
PIDS+=($!)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    OUTPUT_BUFFER=1M bg collector "$PCKTR" >"$W/stdout.fifo"
col=$BG_PID
wait_log collector "collecting on"
python3 - "$port" "$TESTS_DIR" "http://127.0.0.1:$mcol/status" <<'PY' >"$W/peers.log" 2>&1 ||
import json, sys, threading, time, urllib.request
sys.path.insert(0, sys.argv[2]); import pktr_wire as w
port, status_url = int(sys.argv[1]), sys.argv[3]
stop = threading.Event()
frames = [w.udp_frame(b"x" * 1000)] * 50

def peer(name, sid, started):
    p = w.TcpRaw("127.0.0.1", port, timeout=30)
    p.send(w.hello(source_id=sid, seq=0, name=name))
    started.set()
    seq = 1
    while not stop.is_set():
        try:
            p.send(w.packets(sid, seq, name, (seq - 1) * 50, frames))
        except OSError:
            return
        seq += 1

def start(name, sid):
    started = threading.Event()
    t = threading.Thread(target=peer, args=(name, sid, started), daemon=True)
    t.start(); started.wait(10)
    return t

start("early", 1)
time.sleep(0.5)
for i in range(40):
    start("busy%d" % i, 100 + i)
def counts():
    return {s["name"]: s["packets"] for s in json.load(urllib.request.urlopen(status_url))["sources"]}
time.sleep(2)          # the early agent's head start (it had intake to itself) is behind us
before = counts()
time.sleep(6)
after = counts()
stop.set()
got = {k: after[k] - before.get(k, 0) for k in after}
busy = sorted(v for k, v in got.items() if k.startswith("busy"))
median = busy[len(busy) // 2]
print("in 6 s: early %d, busy median %d, min %d, max %d" % (got["early"], median, busy[0], busy[-1]))
# Its share: within a factor of 3 of the median busy peer (round-robin gives about equal turns),
# and no busy peer far behind the others either.
assert median > 0 and got["early"] * 3 >= median, got
assert busy[0] * 3 >= median, got
PY
    fail "early agent starved: $(cat "$W/peers.log")"
pass "early agent after back-pressure: $(tail -n 1 "$W/peers.log")"
