# With CURVE a peer is its key, not its address: a second client on the agent's own host
# (same IP), with a key of its own, sends a goodbye and a batch with the live agent's id. Both
# are refused; the source stays up; every packet of the agent arrives and nothing spoofed does.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import zmq; assert zmq.has("curve")' 2>/dev/null || fail "python3-zmq with CURVE is needed"
"$PCKTR" keygen >"$W/collector.key" 2>/dev/null
"$PCKTR" keygen >"$W/agent.key" 2>/dev/null
pub() { sed -n 's/^public-key: //p' "$1"; }
port=$(free_port); udp=$(free_port); m=$(free_port); K1=50; K2=150
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$m \
    COLLECT_CURVE_SECRETKEY="$W/collector.key" bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=good RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    RELAY_CURVE_SERVERKEY="$(pub "$W/collector.key")" RELAY_CURVE_SECRETKEY="$W/agent.key" \
    bg agent "$PCKTR"
ag=$BG_PID
wait_log collector 'source "good": host'
udp_burst "$udp" "$K1"
/usr/bin/python3 - "$TESTS_DIR" "$port" "$m" "$(pub "$W/collector.key")" <<'PY' 2>"$W/attack.log" ||
import json, sys, time, urllib.request, zmq
sys.path.insert(0, sys.argv[1]); import pktr_wire as w
port, mport, server = int(sys.argv[2]), sys.argv[3], sys.argv[4].encode()
doc = json.load(urllib.request.urlopen("http://127.0.0.1:%s/status" % mport, timeout=5))
good = next(s for s in doc["sources"] if s["name"] == "good")
assert good["client_key"], good
gid, gseq = int(good["id"], 16), good["messages"] + 1000
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
s.curve_serverkey = server
s.setsockopt(zmq.LINGER, 2000)
s.connect("tcp://127.0.0.1:%d" % port)  # the agent's own address
s.send(w.goodbye(gid, gseq, "good", captured=1, relayed=1))
s.send(w.packets(gid, gseq + 1, "good", 10**6, [w.udp_frame(b"spoofed", dport=9)]))
s.send(w.hello(0x51, 0, "second-client"))  # it may have sources of its own
time.sleep(1)
s.close(); ctx.term()
PY
    fail "attacker: $(cat "$W/attack.log")"
udp_burst "$udp" "$K2"
sleep 0.5
curl -sf "http://127.0.0.1:$m/status" >"$W/status.json" || fail "/status"
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector 'source "good" said goodbye'
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap")" $((K1 + K2)) "packets in the output (the agent's only)"
/usr/bin/python3 - "$W/status.json" <<'PY' 2>"$W/check.log" || fail "status: $(cat "$W/check.log")"
import json, sys
doc = json.load(open(sys.argv[1]))
src = {s["name"]: s for s in doc["sources"]}
good, other = src["good"], src["second-client"]
assert good["state"] == "up" and not good["said_goodbye"] and good["refused_from_other_peers"] == 2, good
assert good["client_key"] != other["client_key"] and good["peer"] == other["peer"], (good, other)
assert doc["source_refusals"]["other_peer"] == 2, doc["source_refusals"]
assert doc["refusing_peers"][0]["peer"] == other["client_key"], doc["refusing_peers"]
PY
pass "CURVE: a second key on the agent's address cannot speak for its source"
