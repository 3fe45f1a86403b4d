# The collector's one worst-case memory figure with the defaults (docs/SECURITY.md, "The
# collector's worst case"), proved with every kind of hostile peer at once on zmq, the
# transport with the larger bound, while the stdout reader is stalled:
#  1. 1023 sources planted from 16 addresses (64 per peer, the most one peer may hold) with the
#     longest names, hosts, devices and 64 KiB filters a hello may carry;
#  2. the attacks of t_zmq_memory: valid batches that fill the output queue, 5 senders of
#     16 MiB batches, endless multipart messages, 60 peers filling their queues with the
#     largest messages libzmq takes, 20 half-sent ones, peers past COLLECT_MAX_PEERS;
#  3. 250 HTTP clients from 10 addresses that ask for /status or /metrics and never read.
# Peak RSS (VmHWM) must stay under the stated bound; the collector lives and exits 0 on SIGTERM.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
BOUND_MIB=480 # docs/SECURITY.md
MAXMSG=$((2 * 384 * 1024 + 64)) # ZMQ_MAXMSGSIZE with the default COLLECT_MAX_MESSAGE
sanitizer_memory_bound

port=$(free_port); mport=$(free_port)
stalled_collector # the reader holds the pipe open and never reads
hwm_mib() { awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$col/status"; }

"$PY" - "$TESTS_DIR" "$port" "$mport" <<'PY' || fail "planting 1023 sources"
import json, sys, time, urllib.request, zmq
sys.path.insert(0, sys.argv[1])
import pktr_wire as w
port, mport = int(sys.argv[2]), int(sys.argv[3])
ctx, socks, n = zmq.Context(), [], 0
for a in range(16):
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 2000)
    s.connect("tcp://127.0.0.%d:0;127.0.0.1:%d" % (a + 2, port))  # a source address per peer
    for i in range(64 if a < 15 else 63):
        s.send(w.hello(0x6000 + n, 0, ("%04d" % n) + '"' * 251, host="\\" * 255,
                       device='"' * 255, filter='"' * 65535, version_str='"' * 255))
        n += 1
    socks.append(s)
for _ in range(300):
    st = json.load(urllib.request.urlopen("http://127.0.0.1:%d/status" % mport, timeout=30))
    if len(st["sources"]) >= n:
        break
    time.sleep(0.2)
else:
    raise SystemExit("only %d of %d planted sources in /status" % (len(st["sources"]), n))
for s in socks:
    s.close()  # their peer slots come free for the attack
ctx.term()
PY
pass "1023 maximal sources planted: peak RSS $(hwm_mib) MiB so far"

attack() { # NAME ARGS...: starts zmq_hostile.py, waits until its peers have sent what they can
    local name=$1; shift
    bg "$name" "$PY" "$TESTS_DIR/zmq_hostile.py" "$port" "$@"
    local out="$W/$name.log" i
    for ((i = 0; i < 600; i++)); do grep -q '^ready' "$out" 2>/dev/null && break; sleep 0.1; done
    grep -q "^ready" "$out" || fail "$name: the hostile peers did not get going"
}
attack fill valid 1 60 $((384 * 1024 - 1024))
attack big16 valid 5 8 $((16 * 1024 * 1024))
attack multipart multipart 3 100 700000
attack flood flood 60 10 "$MAXMSG"
attack half half 20 "$MAXMSG"

"$PY" - "$mport" <<'PY' >"$W/http.log" 2>&1 &
import socket, sys, time
mport, socks = int(sys.argv[1]), []
for a in range(10):
    for i in range(25):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind(("127.0.1.%d" % (a + 1), 0))
        try:
            s.connect(("127.0.0.1", mport))
            path = "/metrics" if i % 5 == 0 else "/status"
            s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        except OSError:
            pass  # refused at a limit: counted by the collector
        socks.append(s)
print("ready", flush=True)
time.sleep(600)
PY
PIDS+=("$!")
for ((i = 0; i < 200; i++)); do grep -q '^ready' "$W/http.log" && break; sleep 0.1; done
grep -q '^ready' "$W/http.log" || fail "the HTTP clients did not get going: $(cat "$W/http.log")"
sleep 3 # the renderings the clients asked for are made and held, what is in flight settles
peak=$(hwm_mib)
kill -0 "$col" 2>/dev/null || fail "the collector died"
echo "peak RSS ${peak} MiB (bound ${BOUND_MIB} MiB)"
[ "$peak" -lt "$BOUND_MIB" ] || fail "peak RSS ${peak} MiB over the bound of ${BOUND_MIB} MiB"
kill -TERM "$col"
exec 7>&-
cat "$W/stall" >/dev/null &
PIDS+=("$!")
wait_exit "$col" 20
expect_eq "$EXIT_CODE" 0 "collector exit status on SIGTERM"
pass "every hostile peer at once, zmq, stalled reader: peak RSS ${peak} MiB < ${BOUND_MIB} MiB"
