# The collector's worst-case receive memory on tcp-raw with the defaults (docs/SECURITY.md),
# against hostile peers that each hold what they may: every connection slot taken (1024, from
# 20 addresses), each with a valid hello and then most of a message that fills its free buffer;
# as many plain capture streams as it takes (600 tried, 64 kept) that each sent a record of the
# largest size (their decoders' batches are touched) and hold a partial one; four connections holding the whole shared budget with
# 16 MiB messages they never finish; every connection kept alive a byte at a time; and then a
# stdout reader that stops reading while a flooder fills the output queue. Peak RSS (VmHWM)
# stays under the stated bound, and /metrics answers throughout.
source "$(dirname "$0")/lib.sh"

port=$(free_port); mcol=$(free_port)
mkfifo "$W/stdout.fifo"
python3 -c ' # reads until the flag file appears, then never again
import os, sys, time
src = open(sys.argv[1], "rb", buffering=0)
while not os.path.exists(sys.argv[2]):
    src.read(65536)
time.sleep(3600)
' "$W/stdout.fifo" "$W/stall" &
PIDS+=($!)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector "$PCKTR" >"$W/stdout.fifo"
col=$BG_PID
wait_log collector "collecting on"
python3 - "$port" "$TESTS_DIR" "$W/stall" <<'PY' >"$W/peers.log" 2>&1 &
import resource, socket, struct, sys, threading, time
sys.path.insert(0, sys.argv[2]); import pktr_wire as w
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
port, stall = int(sys.argv[1]), sys.argv[3]
n = 0
def conn():
    global n
    n += 1
    s = socket.socket(); s.bind(("127.0.6.%d" % (1 + n % 20), 0))
    s.connect(("127.0.0.1", port))
    return s
def proven(i):
    s = conn(); h = w.hello(source_id=i, seq=0, name="m%d" % i)
    s.sendall(struct.pack("<I", len(h)) + h)
    return s
held = []
pcap_hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
rec = lambda data: struct.pack("<IIII", 1, 0, len(data), len(data)) + data
def alive(s):
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
caps = []
def drip():                               # a byte now and then: nobody stalls
    while True:
        for s in list(held) + list(caps):
            try: s.send(b"\0", socket.MSG_DONTWAIT)
            except OSError: pass
        time.sleep(1)
threading.Thread(target=drip, daemon=True).start()
for i in range(600):                      # capture streams (the costliest): one record of 256 KiB,
    s = conn()                            # then part of one
    try:
        s.sendall(pcap_hdr + rec(b"\0" * 262144) + struct.pack("<IIII", 1, 0, 262144, 262144) +
                  b"\0" * (120 << 10))
    except OSError:
        pass
    caps.append(s)
time.sleep(1)
held = [s for s in caps if alive(s)]
print("capture streams kept: %d" % len(held), flush=True)
for i in range(1024 - len(held) - 4 - 1): # messages: most of one that fills the free buffer
    s = proven(100 + i)
    s.sendall(struct.pack("<I", 196000) + b"PKTR" + b"\0" * 190000)
    held.append(s)
big = 16 << 20
def hostage(i):                           # the shared budget: 16 MiB messages never finished
    s = proven(5000 + i)
    s.sendall(struct.pack("<I", big) + b"PKTR" + b"\0" * (big - 1000))
    held.append(s)
for i in range(4):
    threading.Thread(target=hostage, args=(i,), daemon=True).start()
for _ in range(200):
    if len(held) == 1024 - 1: break
    time.sleep(0.1)
print("holding %d connections" % len(held), flush=True)
time.sleep(2)
open(stall, "w").close()                  # the reader stops; a flooder fills the output queue
f = w.TcpRaw("127.0.0.1", port, timeout=None)
f.send(w.hello(9999, 0, "flood"))
frames = [w.udp_frame(b"x" * 1400)] * 40
sent = [0]
def flood():                              # until back-pressure reaches it (the collector waits)
    for seq in range(1, 1000000):
        f.send(w.packets(9999, seq, "flood", (seq - 1) * 40, frames)); sent[0] = seq
threading.Thread(target=flood, daemon=True).start()
time.sleep(8)
print("flooder sent %d messages" % sent[0], flush=True)
time.sleep(3600)
PY
peers=$!; PIDS+=("$peers")
wait_log peers "flooder sent" 120
curl -sf -m 5 "http://127.0.0.1:$mcol/status" >"$W/status.json" || fail "/status under load"
curl -sf -m 5 "http://127.0.0.1:$mcol/metrics" >"$W/metrics.txt" || fail "/metrics under load"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$col/status")
kill -0 "$col" || fail "collector died"
# The bound of docs/SECURITY.md: 278 MiB of receive buffers, 16 MiB of output queue, the source
# table (1024 sources, under 2 MiB here), the process itself and the allocator's slack: 400 MiB.
bound=$((400 * 1024))
if [ "${PK_SANITIZED:-OFF}" = ON ]; then
    echo "note: sanitizer build, RSS bound not asserted (peak ${hwm} KiB)"
else
    [ "$hwm" -lt "$bound" ] || fail "collector peak RSS ${hwm} KiB, over ${bound} KiB"
fi
python3 - "$W/status.json" <<'PY' || fail "state: $(head -c 600 "$W/status.json")"
import json, sys
d = json.load(open(sys.argv[1]))
c, o = d["security"]["connections"], d["output"]
print(c, "output queue", o["queue_bytes"], "blocked", o["blocked"])
assert o["blocked"], o                                     # the reader stalled: intake paused
assert c["timed_out_stalled"] == 0 and c["timed_out_first_message"] == 0, c
assert d["messages"]["peers_dropped"] == 0, d["messages"]
assert c["refused_limit"] == 600 - 64, c                    # capture streams past 64
PY
pass "hostile peers holding all they may: collector peak RSS ${hwm} KiB (bound ${bound} KiB)"
