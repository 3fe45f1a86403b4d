# An invalid message inside intact framing (its length prefix is right) costs that message only:
# on one tcp-raw connection, good, malformed, good, wrong-version, good messages: the three good
# ones are written, the two bad ones counted, and the connection stays open.
source "$(dirname "$0")/lib.sh"

port=$(free_port); mcol=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "collecting on"
python3 - "$port" "$TESTS_DIR" "http://127.0.0.1:$mcol/status" <<'PY' >"$W/peer.log" 2>&1 ||
import json, sys, time, urllib.request
sys.path.insert(0, sys.argv[2]); import pktr_wire as w
port, url = int(sys.argv[1]), sys.argv[3]
p = w.TcpRaw("127.0.0.1", port)
n = "mixed"
good = lambda seq, i: w.packets(7, seq, n, i, [w.udp_frame(b"good %d" % i, dport=4000 + i)])
p.send(w.hello(7, 0, n))
p.send(good(1, 0))
p.send(w.packets(7, 2, n, 1, [w.udp_frame(b"bad")])[:-5])     # a record beyond its batch
p.send(good(3, 1))
p.send(w.header(w.PACKETS, 7, 4, n, version=9) + b"\0" * 24)  # another protocol version
p.send(good(5, 2))
time.sleep(1)
d = json.load(urllib.request.urlopen(url))
src = [s for s in d["sources"] if s["name"] == n][0]
print(d["messages"], src["connected"], src["disconnects"])
assert src["connected"] and src["disconnects"] == 0, src
assert d["messages"]["malformed"] == 1 and d["messages"]["wrong_version"] == 1, d["messages"]
assert d["messages"]["peers_dropped"] == 0, d["messages"]
p.close()
PY
    fail "$(cat "$W/peer.log")"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst portrange 4000-4002")" 3 "good packets"
expect_eq "$(pcap_count "$W/out.pcap")" 3 "nothing else written"
pass "bad messages inside intact framing dropped and counted; the good ones around them written"
