# A spoofed goodbye. An attacker reads a live agent's source id in /status, sends a goodbye and
# packets with it from another peer (tcp-raw: another connection; zmq: another address), then
# 1100 fresh ids to push the live source out of the table. The live source stays up and bound
# to its agent, none of the attacker's messages for it count, the attacker holds at most 64
# sources, and every packet the agent captures before and after arrives. Refusals are counted
# (per source, per peer, by reason) and logged once.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import zmq' 2>/dev/null || fail "python3-zmq is not installed"
port=$(free_port); udp=$(free_port); m=$(free_port); K1=100; K2=200
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$m \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=good RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg agent "$PCKTR"
ag=$BG_PID
wait_log collector 'source "good": host'
udp_burst "$udp" "$K1"
/usr/bin/python3 - "$TESTS_DIR" "$RELAY_TRANSPORT" "$port" "$m" <<'PY' >"$W/attack.out" 2>"$W/attack.log" ||
import json, socket, struct, sys, time, urllib.request
sys.path.insert(0, sys.argv[1]); import pktr_wire as w
transport, port, mport = sys.argv[2], int(sys.argv[3]), sys.argv[4]
doc = json.load(urllib.request.urlopen("http://127.0.0.1:%s/status" % mport, timeout=5))
good = next(s for s in doc["sources"] if s["name"] == "good")
gid, gseq = int(good["id"], 16), good["messages"] + 1000
if transport == "tcp-raw":  # another connection from the same address as the agent
    p = w.TcpRaw("127.0.0.1", port)
else:                       # zmq knows peers by address (or CURVE key): another address
    p = w.Zmq("tcp://127.0.0.2:0;127.0.0.1:%d" % port)
p.send(w.goodbye(gid, gseq, "good", captured=1, relayed=1))
p.send(w.packets(gid, gseq + 1, "good", 10**6, [w.udp_frame(b"spoofed", dport=9)]))
for i in range(1100):
    p.send(w.hello(0x5000 + i, 0, "evil-%d" % i))
time.sleep(1)
p.close()
PY
    fail "attacker: $(cat "$W/attack.log")"
udp_burst "$udp" "$K2"
sleep 0.5
curl -sf "http://127.0.0.1:$m/status" >"$W/status.json" || fail "/status"
curl -sf "http://127.0.0.1:$m/metrics" >"$W/metrics.txt" || fail "/metrics"
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector 'source "good" said goodbye'
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" $((K1 + K2)) "the agent's packets"
expect_eq "$(pcap_count "$W/out.pcap")" $((K1 + K2)) "nothing else in the output"
/usr/bin/python3 - "$W/status.json" <<'PY' 2>"$W/check.log" || fail "status: $(cat "$W/check.log")"
import json, sys
doc = json.load(open(sys.argv[1]))
good = next(s for s in doc["sources"] if s["name"] == "good")
assert good["state"] == "up" and not good["said_goodbye"], good
assert good["refused_from_other_peers"] == 2, good
assert good["lost_packets"] == 0 and good["lost_messages"] == 0, good
evil = [s for s in doc["sources"] if s["name"].startswith("evil-")]
assert len(evil) <= 64, len(evil)
r = doc["source_refusals"]
assert r["other_peer"] == 2, r
assert r["peer_limit"] + len(evil) + doc["sources_forgotten"] >= 1100 and r["peer_limit"] >= 900, (r, len(evil))
assert doc["sources_per_peer_limit"] == 64, doc
peers = doc["refusing_peers"]
assert len(peers) == 1 and peers[0]["other_peer"] == 2 and peers[0]["peer_limit"] == r["peer_limit"], peers
PY
grep -q '^packeteur_source_refusals_total{reason="other_peer"} 2$' "$W/metrics.txt" ||
    fail "metrics: $(grep refus "$W/metrics.txt")"
grep -q '^packeteur_source_foreign_messages_total{source="good"} 2$' "$W/metrics.txt" ||
    fail "metrics: $(grep foreign "$W/metrics.txt")"
lines=$(grep -c 'refusing' "$W/collector.log" || true)
[ "$lines" -ge 1 ] && [ "$lines" -le 2 ] || fail "$lines refusal lines in the log (want 1 or 2)"
pass "a spoofed goodbye and 1100 fresh ids left the live source up; all $((K1 + K2)) packets arrived"
