# Accounting holes a peer that follows docs/PROTOCOL.md can open, played by tests/pktr_wire.py
# against a pcapng collector: a batch lost right before a goodbye (seen from the start, and by
# a collector that joined late); a duplicated message; a link type over 65535; a source whose
# link type flips every batch (one interface per link type, at most 8 per source); a hello's
# heartbeat interval longer than SOURCE_STALE_AFTER (not stale between two heartbeats).
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import zmq' 2>/dev/null || fail "python3-zmq is not installed"
port=$(free_port); m=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$m \
    OUTPUT_FORMAT=pcapng SOURCE_STALE_AFTER=1s bg collector "$PCKTR" >"$W/out.pcapng"
col=$BG_PID
wait_log collector "collecting on"
/usr/bin/python3 - "$TESTS_DIR" "$RELAY_TRANSPORT" "$port" "$m" <<'PY' >"$W/peer.out" 2>"$W/peer.log" ||
import json, sys, time, urllib.request
sys.path.insert(0, sys.argv[1]); import pktr_wire as w
transport, port, mport = sys.argv[2], int(sys.argv[3]), sys.argv[4]
def connect():
    return w.TcpRaw("127.0.0.1", port) if transport == "tcp-raw" else w.Zmq("tcp://127.0.0.1:%d" % port)
def frames(n, dport):
    return [w.udp_frame(b"%d" % i, dport=dport) for i in range(n)]
def status():
    return json.load(urllib.request.urlopen("http://127.0.0.1:%s/status" % mport, timeout=5))
def src(doc, name):
    return next(s for s in doc["sources"] if s["name"] == name)
def wait_for(cond, what, limit=15):
    for _ in range(limit * 20):
        doc = status()
        if cond(doc):
            return doc
        time.sleep(0.05)
    raise SystemExit("timed out waiting for %s: %s" % (what, json.dumps(doc)[:3000]))
p = connect()
# A: seen from its first message; seq 2 (packets 10..19) lost; its goodbye says 20 relayed.
p.send(w.hello(0xA, 0, "lost-tail"))
p.send(w.packets(0xA, 1, "lost-tail", 0, frames(10, 1001)))
p.send(w.goodbye(0xA, 3, "lost-tail", captured=20, relayed=20))
# B: this collector joins at seq 5 (relayed 100 before); 110..119 lost before the goodbye.
p.send(w.stats(0xB, 5, "late-join", captured=100, relayed=100))
p.send(w.packets(0xB, 6, "late-join", 100, frames(10, 1002)))
p.send(w.goodbye(0xB, 8, "late-join", captured=120, relayed=120))
# C: one message sent twice, and an older one after a newer.
c1, c2 = w.packets(0xC, 1, "dup", 0, frames(5, 1003)), w.packets(0xC, 2, "dup", 5, frames(5, 1003))
for m in (w.hello(0xC, 0, "dup"), c1, c1, c2, c1):
    p.send(m)
# E: link type flips every batch, 200 batches of one packet.
p.send(w.hello(0xE, 0, "flip"))
for i in range(200):
    p.send(w.packets(0xE, 1 + i, "flip", i, frames(1, 1005), linktype=(1, 101)[i % 2]))
# F: ten link types; a source gets at most 8 interfaces.
lts = [1, 101, 113, 228, 229, 276, 0, 12, 105, 127]
for i, lt in enumerate(lts):
    p.send(w.packets(0xF, i, "many-lt", i, frames(1, 1006), linktype=lt))
# G says it speaks every 5 s; H every 100 ms. SOURCE_STALE_AFTER is 1 s.
p.send(w.hello(0x6, 0, "slow-beat", heartbeat_ms=5000))
p.send(w.hello(0x7, 0, "fast-beat", heartbeat_ms=100))
doc = wait_for(lambda d: len(d["sources"]) == 7 and src(d, "many-lt")["messages"] == 10
               and src(d, "slow-beat")["seconds_since_seen"] >= 1.5, "all sources, 1.5 s silence")
print(json.dumps(doc))
g, h = src(doc, "slow-beat"), src(doc, "fast-beat")
assert g["state"] == "up", ("a 5 s heartbeat is not stale after 1.5 s", g["state"], g["seconds_since_seen"])
assert h["state"] == "stale", ("a 100 ms heartbeat is stale after SOURCE_STALE_AFTER", h["state"])
# D (last, on a connection of its own): link type 65537 would be cut to 1 (Ethernet).
malformed = doc["messages"]["malformed"]
d = connect()
d.send(w.hello(0xD, 0, "wide-lt"))
d.send(w.packets(0xD, 1, "wide-lt", 0, frames(3, 1004), linktype=65537))
doc = wait_for(lambda d: d["messages"]["malformed"] == malformed + 1, "the wide link type counted")
time.sleep(0.3)
print(json.dumps(status()))
p.close(); d.close()
PY
    fail "peer: $(cat "$W/peer.log")"
tail -n 1 "$W/peer.out" >"$W/status.json"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
/usr/bin/python3 - "$W/status.json" "$W/out.pcapng" <<'PY' 2>"$W/check.log" || fail "accounting: $(cat "$W/check.log")"
import json, struct, sys
doc = json.load(open(sys.argv[1]))
src = {s["name"]: s for s in doc["sources"]}
def check(name, **want):
    got = {k: src[name][k] for k in want}
    assert got == want, (name, got, want)
check("lost-tail", packets=10, written=10, lost_messages=1, lost_packets=10, relayed_before_first_seen=0)
check("late-join", packets=10, written=10, lost_packets=10, relayed_before_first_seen=100)
for s in ("lost-tail", "late-join"):  # relayed = relayed_before_first_seen + packets + lost_packets
    x = src[s]
    assert x["agent"]["relayed"] == x["relayed_before_first_seen"] + x["packets"] + x["lost_packets"], x
check("dup", packets=10, written=10, duplicates=2, messages=3)
check("flip", packets=200, written=200)
check("many-lt", packets=10, written=8, linktype_drops=2)
assert "wide-lt" in src and src["wide-lt"]["packets"] == 0, src.get("wide-lt")
# The pcapng output: interfaces per source, packets per interface.
data, off, idbs, epbs = open(sys.argv[2], "rb").read(), 0, [], {}
while off + 12 <= len(data):
    btype, blen = struct.unpack_from("<II", data, off)
    if btype == 1:
        lt = struct.unpack_from("<H", data, off + 8)[0]
        o, name = off + 16, None
        while o + 4 <= off + blen - 4:
            code, olen = struct.unpack_from("<HH", data, o)
            if code == 0:
                break
            if code == 2:
                name = data[o + 4:o + 4 + olen].decode()
            o += 4 + ((olen + 3) & ~3)
        idbs.append((name, lt))
    elif btype == 6:
        i = struct.unpack_from("<I", data, off + 8)[0]
        epbs[i] = epbs.get(i, 0) + 1
    off += blen
per = lambda n: sorted(lt for name, lt in idbs if name == n)
assert per("flip") == [1, 101], ("one interface per link type", per("flip"))
assert per("many-lt") == sorted([1, 101, 113, 228, 229, 276, 0, 12]), per("many-lt")
assert per("wide-lt") == [], ("a link type over 65535 reached the output", per("wide-lt"))
assert sum(epbs.values()) == 10 + 10 + 10 + 200 + 8, epbs
print("ok", len(idbs), "interfaces")
PY
pass "books closed by goodbyes, duplicates dropped, link types bounded, heartbeat liveness"
