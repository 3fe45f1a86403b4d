# HTTP clients that ask for more than /metrics and /status need: request bodies (h2o's default
# takes up to 1 GB of one into memory: 64 clients posting to /status took the collector to
# 716 MB) and HTTP/2 (an h2c upgrade, or the client preface), where a flood of HEADERS and
# RST_STREAM frames kept a core busy and /status unanswered for 25 s. Now a body over 1 KiB is
# refused with 413 before it is read, and HTTP/2 is not spoken: the preface gets 400 and an
# upgrade request a plain HTTP/1.1 answer. 32 clients that each try to post 64 MiB leave the
# collector's peak RSS under RSS_LIMIT_MB, and /status keeps answering.
source "$(dirname "$0")/lib.sh"

RSS_LIMIT_MB=100
[ "${PK_SANITIZED:-OFF}" = ON ] && RSS_LIMIT_MB=250
port=$(free_port); mport=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
    bg collector "$PCKTR" >/dev/null
col=$BG_PID
wait_log collector "collecting on"

/usr/bin/python3 - "$mport" "$col" "$RSS_LIMIT_MB" <<'PY' || fail "hostile HTTP clients"
import socket, struct, subprocess, sys, threading, time
mport, pid, limit = (int(a) for a in sys.argv[1:])

def conn(src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", mport))
    s.settimeout(5)
    return s

def hwm_mb():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

s = conn()
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + struct.pack(">I", 0)[1:] + bytes([4, 0, 0, 0, 0, 0]))
head = s.recv(64)
assert head.startswith(b"HTTP/1.1 400"), ("HTTP/2 preface answered", head)
s = conn()
s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
          b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
head = s.recv(64)
assert head.startswith(b"HTTP/1.1 200"), ("h2c upgrade answered", head)
print("HTTP/2: preface 400, upgrade answered in HTTP/1.1")

def post(src):
    try:
        s = conn(src)
        s.sendall(b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n")
        chunk = b"A" * (1 << 20)
        for _ in range(64):
            s.sendall(chunk)
    except OSError:
        pass  # refused (413, then closed), as it should be
posters = [threading.Thread(target=post, args=("127.0.2.%d" % (i // 8 + 1),)) for i in range(32)]
for t in posters:
    t.start()
for t in posters:
    t.join(30)
s = conn()
s.sendall(b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
head = s.recv(64)
assert head.startswith(b"HTTP/1.1 413"), ("a large body", head)
out = subprocess.run(["curl", "-sf", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}",
                      "http://127.0.0.1:%d/status" % mport], capture_output=True, text=True)
assert out.stdout == "200", ("/status after the posts", out.stdout)
peak = hwm_mb()
print("32 clients posting 64 MiB each: peak RSS %.0f MB (limit %d)" % (peak, limit))
assert peak < limit, peak
PY
kill -0 "$col" || fail "the collector died"
pass "no request bodies, no HTTP/2: 413, 400, bounded memory"
