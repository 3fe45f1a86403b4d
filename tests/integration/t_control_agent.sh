# The agent's side of the control plane (docs/CONTROL.md, "On the agent"), against a fake
# tcp-raw collector in python: it takes the agent's connection, reads its hello, and sends
# control messages back on that connection (each preceded by its u32 little-endian length, as
# every tcp-raw message). Asserted: the first hello says the agent takes control (generation 0);
# a message for another source is ignored and counted; a generation whose filter tries to
# break out of its parentheses ("udp) or (tcp") is refused (stats: refused gen) and nothing
# changes; a good generation with pause applies at once (hello: applied gen, the central filter
# ANDed into the filter in force; stats: packets counted as paused, none relayed); the same
# generation again is acknowledged again; a generation without pause relays again, and what
# the central filter leaves out is not captured; central sampling and rate limit narrow the
# agent's own; a SIGHUP that changes FILTER_FILE recombines with the central filter, and its
# SAMPLE and RELAY_RATE_LIMIT are narrowed by control's still. /status and /metrics agree.
# Not registered in ctest yet (tests/CMakeLists.txt): it needs tcp-raw's sender to read its
# connection (the return path), which lands separately.
source "$(dirname "$0")/lib.sh"
export RELAY_TRANSPORT=tcp-raw

port=$(free_port) uport=$(free_port) mport=$(free_port) N=20
/usr/bin/python3 - "$port" "$uport" "$N" >"$W/fake.out" 2>"$W/fake.log" <<'PY' &
import socket, struct, sys, time
port, uport, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(1)
srv.settimeout(15)
conn, _ = srv.accept()
conn.settimeout(15)
buf = b""

def read_msg():
    global buf
    while True:
        if len(buf) >= 4:
            ln = struct.unpack_from("<I", buf)[0]
            if len(buf) >= 4 + ln:
                m, buf = buf[4:4 + ln], buf[4 + ln:]
                return m
        d = conn.recv(65536)
        if not d: raise SystemExit("agent closed its connection")
        buf += d

def str16(b, o):
    ln = struct.unpack_from("<H", b, o)[0]
    return b[o + 2:o + 2 + ln].decode(), o + 2 + ln

def parse(m):  # header: magic, version, kind, name length, flags, id, seq, sent ns, name
    assert m[:4] == b"PKTR", m[:4]
    ver, kind, nl = m[4], m[5], m[6]
    sid = struct.unpack_from("<Q", m, 8)[0]
    name = m[32:32 + nl].decode()
    o = 32 + nl
    f = {"kind": kind, "id": sid, "name": name}
    if kind == 1:
        o += 24
        f["host"], o = str16(m, o); f["device"], o = str16(m, o)
        f["filter"], o = str16(m, o); f["version"], o = str16(m, o)
        tail = m[o:]
        f["sample_n"] = struct.unpack_from("<I", tail)[0] if len(tail) >= 4 else 1
        f["control"], f["applied"] = struct.unpack_from("<IQ", tail, 4) if len(tail) == 16 else (0, 0)
    elif kind in (3, 4):
        body = m[o:]
        v = struct.unpack_from("<%dQ" % (len(body) // 8), body)
        f["captured"], f["relayed"] = v[0], v[4]
        f["paused"], f["applied"], f["refused"] = v[10:13] if len(v) >= 13 else (0, 0, 0)
    elif kind == 2:
        f["count"] = struct.unpack_from("<I", m, o + 4)[0]
    return f

def control(sid, name, gen, flags=0, sample_n=0, rate=0, filt=""):
    nb, fb = name.encode(), filt.encode()
    m = b"PKTR" + bytes([1, 5, len(nb), 0]) + struct.pack("<QQQ", sid, 0, 0) + nb
    m += struct.pack("<QIIQ", gen, flags, sample_n, rate) + struct.pack("<H", len(fb)) + fb
    conn.sendall(struct.pack("<I", len(m)) + m)

def until(pred, what, limit=10):
    end = time.time() + limit
    while time.time() < end:
        f = parse(read_msg())
        if pred(f): return f
    raise SystemExit("timed out waiting for " + what)

def burst(p=uport):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(n): u.sendto(b"x", ("127.0.0.1", p))

h = until(lambda f: f["kind"] == 1, "the first hello")
assert h["control"] == 1 and h["applied"] == 0, h
sid, name = h["id"], h["name"]
control(sid + 1, name, 3, filt="udp")                 # another source: ignored, counted
control(sid, name + "x", 3, filt="udp")               # another name: so too, not logged again
control(sid, name, 5, filt="udp) or (tcp")            # the injection: refused
s = until(lambda f: f["kind"] == 3 and f["refused"] == 5, "stats with refused gen 5")
assert s["applied"] == 0, s
control(sid, name, 6, flags=1, filt="udp port %d" % uport)
h = until(lambda f: f["kind"] == 1 and f["applied"] == 6, "hello with applied gen 6")
assert "(udp port %d) and " % uport in h["filter"], h["filter"]
until(lambda f: f["kind"] == 3 and f["applied"] == 6, "stats with applied gen 6")
burst()
s = until(lambda f: f["kind"] == 3 and f["paused"] >= n, "stats with %d paused" % n)
assert s["relayed"] == 0, s
control(sid, name, 6, flags=1, filt="udp port %d" % uport)  # again: acknowledged again
until(lambda f: f["kind"] == 1 and f["applied"] == 6, "the hello acknowledging gen 6 again")
control(sid, name, 7, filt="udp port %d" % uport)
until(lambda f: f["kind"] == 3 and f["applied"] == 7, "stats with applied gen 7")
burst(uport + 1)  # the agent's own filter takes it, the central one does not
burst()
s = until(lambda f: f["kind"] == 3 and f["relayed"] >= n, "stats with %d relayed" % n)
assert s["paused"] == n, s
control(sid, name, 8, sample_n=4, rate=1000000, filt="udp port %d" % uport)
h = until(lambda f: f["kind"] == 1 and f["applied"] == 8, "hello with applied gen 8")
assert h["sample_n"] == 4, h
# The shell changes FILTER_FILE (SAMPLE=1/8, RELAY_RATE_LIMIT=2M) and sends SIGHUP.
h = until(lambda f: f["kind"] == 1 and "or udp port %d)" % (uport + 2) in f["filter"],
          "the hello after SIGHUP", 20)
assert "and (udp port %d) and " % uport in h["filter"], h["filter"]
assert h["sample_n"] == 8 and h["applied"] == 8, h
print("ok")
time.sleep(30)  # the agent keeps its connection while the shell reads /status
PY
FAKE=$!
PIDS+=("$FAKE")
for ((i = 0; i < 100; i++)); do
    ss -Htln "( sport = :$port )" | grep -q . && break
    sleep 0.05
done
echo "udp port $uport or udp port $((uport + 1))" >"$W/filter"
MODE=capture DEVICE=lo FILTER_FILE="$W/filter" SOURCE_NAME=ctl-agent HEARTBEAT_INTERVAL=200ms METRICS_ADDRPORT=127.0.0.1:$mport \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent "$PCKTR"
AGENT=$BG_PID
wait_log agent 'control: generation 8 applied: .*sample 1/4, rate limit 1000000 bytes/s' 20
printf 'udp port %s or udp port %s\nSAMPLE=1/8\nRELAY_RATE_LIMIT=2M\n' "$uport" "$((uport + 2))" >"$W/filter"
kill -HUP "$AGENT"
for ((i = 0; i < 300; i++)); do
    [ -s "$W/fake.out" ] && break
    kill -0 "$FAKE" 2>/dev/null || break
    sleep 0.05
done
grep -qx ok "$W/fake.out" || fail "the fake collector: $(tail -n 3 "$W/fake.log")"
wait_log agent 'control: generation 5 refused: filter "udp\) or \(tcp"'
wait_log agent 'control: generation 6 applied: filter "udp port '"$uport"'".*paused=yes'
wait_log agent 'control: generation 7 applied: .*paused=no'
wait_log agent 'SIGHUP: FILTER_FILE=.*the filter is now'
wait_log agent 'control: ignored 1 message'
expect_eq "$(grep -c 'control: ignored' "$W/agent.log")" 1 "warnings for ignored messages"
curl -sf --max-time 2 "http://127.0.0.1:$mport/status" >"$W/status.json" || fail "/status"
/usr/bin/python3 - "$W/status.json" "$uport" "$N" <<'PY' || fail "/status control: $(cat "$W/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
c, n = s["control"], int(sys.argv[3])
assert c["enabled"] is True and c["applied_generation"] == 8 and c["refused_generation"] == 5, c
assert c["paused"] is False and c["central_filter"] == "udp port " + sys.argv[2], c
assert c["paused_packets"] == n and c["rejected_messages"] == 2, c
assert s["capture"]["paused"] == n and s["capture"]["captured"] == 2 * n, s["capture"]
assert s["capture"]["sample_n"] == 8 and s["relay"]["rate_limit_bytes"] == 1000000, s
f = s["capture"]["filter"]
assert f.startswith("(udp port %s or udp port %d) and (udp port %s) and not " % (
    sys.argv[2], int(sys.argv[2]) + 2, sys.argv[2])), f
PY
curl -sf --max-time 2 "http://127.0.0.1:$mport/metrics" | grep -x 'packeteur_control_generation 8' >/dev/null ||
    fail "/metrics: packeteur_control_generation"
pass "control on the agent: rejected, refused, applied with pause, acknowledged again, resumed, narrowed, kept over SIGHUP"
