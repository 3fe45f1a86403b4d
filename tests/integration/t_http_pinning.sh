# /status pinning: an attacker plants ~1,000 sources with the longest names, hosts, devices and
# filters the protocol allows (tcp-raw, 60 sources per connection), then opens 12 HTTP clients
# that send GET /status and never read. The collector's RSS must stay under RSS_LIMIT_MB (before
# the fix each such client held a whole 136 MB /status: 1.2 GB for 8), curl must still get
# /status and /metrics, and every stuck client must be reset within the stall timeout (5 s).
source "$(dirname "$0")/lib.sh"

SOURCES=1000 STUCK=12 RSS_LIMIT_MB=256
export RELAY_TRANSPORT=tcp-raw
if [ "${PK_SANITIZED:-OFF}" = ON ]; then
    # Shadow memory and redzones roughly double the heap; a small quarantine keeps freed bodies
    # from counting. Without the fix the 12 clients would still hold 1.6 GB.
    RSS_LIMIT_MB=512
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
fi
port=$(free_port); mport=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port \
    METRICS_ADDRPORT=127.0.0.1:$mport bg collector "$PCKTR" >/dev/null
col=$BG_PID
wait_log collector "collecting on"

python3 - "$TESTS_DIR" "$port" "$mport" "$col" "$SOURCES" "$STUCK" "$RSS_LIMIT_MB" <<'PY' || fail "pinning"
import json, socket, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import pktr_wire as w
port, mport, pid, nsrc, nstuck, limit_mb = (int(a) for a in sys.argv[2:])

def rss_mb():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("collector gone")

def get(path, timeout=30):
    out = subprocess.run(["curl", "-sS", "-m", str(timeout), "-o", "-", "-w", "\n%{http_code}",
                          "http://127.0.0.1:%d%s" % (mport, path)], capture_output=True)
    body, _, code = out.stdout.rpartition(b"\n")
    return int(code or 0), body

# '"' and '\\' double when escaped: the most /status bytes per byte planted.
conns = []
for i in range(nsrc):
    if i % 60 == 0:
        conns.append(w.TcpRaw("127.0.0.1", port))
    name = ("%04d" % i) + '"' * 251
    conns[-1].send(w.hello(0x5000 + i, 0, name, host="\\" * 255, device='"' * 255,
                           filter='"' * 65535, version_str='"' * 255))
for _ in range(200):
    code, body = get("/status", 60)
    if code == 200 and len(json.loads(body)["sources"]) >= nsrc:
        break
    time.sleep(0.2)
else:
    raise SystemExit("the planted sources never showed in /status")
doc = json.loads(body)
print("/status with %d planted sources: %.1f MB, collector RSS %.0f MB"
      % (nsrc, len(body) / 1e6, rss_mb()))

stuck = []
for i in range(nstuck):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # take as little as possible
    s.connect(("127.0.0.1", mport))
    s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
    stuck.append(s)
    time.sleep(0.3)  # spread over several SHARE_MS windows: not all share one body
peak = 0
t0 = time.time()
while time.time() - t0 < 2:
    peak = max(peak, rss_mb())
    assert peak < limit_mb, "collector RSS %.0f MB with %d stuck clients" % (peak, nstuck)
    time.sleep(0.1)
for path in ("/status", "/metrics"):
    code, body = get(path)
    assert code == 200 and len(body) > 0, (path, code)
    peak = max(peak, rss_mb())
    assert peak < limit_mb, "collector RSS %.0f MB" % peak
print("%d stuck clients: peak RSS %.0f MB (limit %d); curl /status and /metrics answered"
      % (nstuck, peak, limit_mb))

# Every stuck client is reset within the stall timeout (5 s) plus the check interval.
t0 = time.time()
while True:
    ss = subprocess.run(["ss", "-Htn", "state", "established", "( sport = :%d )" % mport],
                        capture_output=True, text=True).stdout
    if not ss.strip():
        break
    assert time.time() - t0 < 12, "stuck clients still connected:\n" + ss
    time.sleep(0.2)
print("stuck clients closed %.1f s after the last was opened" % (time.time() - t0 + 2))
for s in stuck:
    s.settimeout(5)
    try:
        while s.recv(1 << 16):
            pass
    except ConnectionResetError:
        pass
code, body = get("/status")
st = json.loads(body)["http"]
assert st["clients_stalled"] >= nstuck and st["held_bytes"] <= st["held_limit_bytes"], st
print("http:", st)
# At most 32 connections from one address: 40 silent ones, and 8 are closed at accept.
silent = [socket.create_connection(("127.0.0.1", mport)) for _ in range(40)]
time.sleep(0.5)
for s in silent:
    s.close()
time.sleep(1.5)  # h2o closes the silent ones after 1 s
code, body = get("/status")
refused = json.loads(body)["http"]["connections_refused"]
assert code == 200 and refused == 8, (code, refused)
# /status shows a filter of at most 1 KiB, and says it was cut.
assert all(s["filter_truncated"] and len(s["filter"]) <= 1024 for s in doc["sources"])
for c in conns:
    c.close()
PY
kill -TERM "$col"
wait_exit "$col" 15
expect_eq "$EXIT_CODE" 0 "collector exit code"
pass "/status pinning: RSS bounded, other clients served, stuck clients reset"
