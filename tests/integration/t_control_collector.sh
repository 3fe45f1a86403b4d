# The collector's side of the control plane, played by a peer that follows docs/PROTOCOL.md (the
# control encoders below are written from the document): a hello's 16-byte tail (takes control,
# applied generation) and the stats' 104-byte form (paused, applied, refused) reach /status's
# "control" object and /metrics; a lower generation wins (they are not counters); paused packets
# are no loss; a control message sent to a collector is dropped as malformed; in pcapng, a hello
# with a new filter in force describes the source's interface anew, one with a new generation
# alone does not. No control plane is open here (CONTROL_TOKEN_FILE, CONTROL_STATE empty): the
# state is "off" and nothing is pushed.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import zmq' 2>/dev/null || fail "python3-zmq is not installed"
port=$(free_port); m=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$m \
    OUTPUT_FORMAT=pcapng bg collector "$PCKTR" >"$W/out.pcapng"
col=$BG_PID
wait_log collector "collecting on"
/usr/bin/python3 - "$TESTS_DIR" "$RELAY_TRANSPORT" "$port" "$m" "$W/metrics.txt" <<'PY' >"$W/peer.out" 2>"$W/peer.log" ||
import json, struct, sys, time, urllib.request
sys.path.insert(0, sys.argv[1]); import pktr_wire as w
transport, port, mport = sys.argv[2], int(sys.argv[3]), sys.argv[4]
p = w.TcpRaw("127.0.0.1", port) if transport == "tcp-raw" else w.Zmq("tcp://127.0.0.1:%d" % port)
def hello2(seq, filt, control, applied):  # version 2, the 16-byte tail
    body = struct.pack("<IIIIQ", 1, 262144, 9, 1000, time.time_ns())
    body += w.str16("h") + w.str16("eth0") + w.str16(filt) + w.str16("test")
    body += struct.pack("<IIQ", 1, control, applied)
    return w.header(w.HELLO, 0x5, seq, "ctl", version=2) + body
def stats104(seq, captured, relayed, paused, applied, refused):
    body = struct.pack("<6Q", captured, 0, 0, 0, relayed, 0) + struct.pack("<4Q", 0, 0, 0, 0)
    body += struct.pack("<3Q", paused, applied, refused)
    return w.header(w.STATS, 0x5, seq, "ctl", version=2) + body
def control(seq):  # kind 5: only collector to agent
    body = struct.pack("<QIIQ", 9, 1, 0, 0) + w.str16("")
    return w.header(5, 0x5, seq, "ctl") + body
def status():
    return json.load(urllib.request.urlopen("http://127.0.0.1:%s/status" % mport, timeout=5))
def wait_for(cond, what):
    for _ in range(300):
        doc = status()
        if cond(doc):
            return doc
        time.sleep(0.05)
    raise SystemExit("timed out waiting for %s: %s" % (what, json.dumps(doc)[:3000]))
src = lambda d: next(s for s in d["sources"] if s["name"] == "ctl")
frames = lambda n: [w.udp_frame(b"x", dport=1234) for _ in range(n)]
p.send(hello2(0, "port 80", 1, 4))
p.send(w.packets(0x5, 1, "ctl", 0, frames(3)))
p.send(hello2(2, "port 80", 1, 5))  # a pause: a generation alone
p.send(w.packets(0x5, 3, "ctl", 3, frames(3)))
p.send(stats104(4, 106, 6, 100, 5, 6))  # 100 paused: never relayed, no gap
p.send(hello2(5, "(port 80) and (host 10.1.1.1)", 1, 7))  # a central filter applied
p.send(w.packets(0x5, 6, "ctl", 6, frames(3)))
p.send(stats104(7, 109, 9, 100, 3, 0))  # desired state cleared: generation 3, lower
p.send(control(8))
doc = wait_for(lambda d: d["messages"]["malformed"] == 1 and src(d)["written"] == 9,
               "the control message counted as malformed")
print(json.dumps(doc))
with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % mport, timeout=5) as r:
    open(sys.argv[5], "w").write(r.read().decode())
p.close()
PY
    fail "peer: $(cat "$W/peer.log")"
tail -n 1 "$W/peer.out" >"$W/status.json"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
/usr/bin/python3 - "$W/status.json" "$W/out.pcapng" <<'PY' 2>"$W/check.log" || fail "control: $(cat "$W/check.log")"
import json, struct, sys
doc = json.load(open(sys.argv[1]))
s = next(x for x in doc["sources"] if x["name"] == "ctl")
want = {"takes_control": True, "desired_generation": 0, "applied_generation": 3,
        "refused_generation": 0, "state": "off", "paused_packets": 100, "sends": 0,
        "send_failures": 0}
assert s["control"] == want, (s["control"], want)
assert s["agent"]["paused"] == 100 and s["lost_packets"] == 0 and s["inconsistent_stats"] == 0, s
assert s["interfaces_described_again"] == 1, s["interfaces_described_again"]
assert s["filter"] == "(port 80) and (host 10.1.1.1)", s["filter"]
data, off, idbs = open(sys.argv[2], "rb").read(), 0, 0
while off + 12 <= len(data):
    btype, blen = struct.unpack_from("<II", data, off)
    idbs += btype == 1
    off += blen
assert idbs == 2, ("one interface, described again once for the new filter", idbs)
PY
grep -qx 'packeteur_source_paused_total{source="ctl"} 100' "$W/metrics.txt" ||
    fail "/metrics: no paused total: $(grep paused "$W/metrics.txt")"
grep -qx 'packeteur_source_control_generation{source="ctl",which="applied"} 3' "$W/metrics.txt" ||
    fail "/metrics: applied generation: $(grep control_generation "$W/metrics.txt")"
grep -qx 'packeteur_control_messages_sent_total 0' "$W/metrics.txt" || fail "/metrics: sent"
pass "control state in /status and /metrics; a control message is malformed here; a new filter redescribes, a generation alone does not"
