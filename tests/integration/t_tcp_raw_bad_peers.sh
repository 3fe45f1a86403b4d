# tcp-raw: peers that send random bytes, an oversized length, a wrong protocol version, a stream
# cut inside a message, a pcap stream with an absurd record length, a pcapng stream cut inside a
# block, a ZeroMQ peer (an agent left at RELAY_TRANSPORT=zmq), or one byte every 200 ms
# (slowloris) are each handled on their own
# connection: bad ones are dropped and counted, while a real agent's packets all arrive and the
# collector's memory stays bounded.
source "$(dirname "$0")/lib.sh"

port=$(free_port); udp=$(free_port); mcol=$(free_port); K=300
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=good RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg agent "$PCKTR"
ag=$BG_PID
wait_log collector 'source "good": host'
/usr/bin/python3 - "$port" <<'PY' 2>"$W/peers.log" &  # Debian's, with python3-zmq
import os, socket, struct, sys, threading, time
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port))
name = b"evil"
def msg(version):
    body = struct.pack("<IIQQ", 1, 0, 0, 0)
    m = b"PKTR" + bytes([version, 2, len(name), 0]) + struct.pack("<QQQ", 9, 0, 0) + name + body
    return struct.pack("<I", len(m)) + m
def slowloris():
    s = conn()
    for b in msg(1)[:15]:
        s.send(bytes([b])); time.sleep(0.2)
    s.close()
t = threading.Thread(target=slowloris); t.start()
for _ in range(5):                                   # random bytes: bad length, dropped
    s = conn(); s.sendall(os.urandom(4096)); time.sleep(0.05); s.close()
s = conn(); s.sendall(struct.pack("<I", 0xFFFFFFF0) + b"x" * 100); time.sleep(0.05); s.close()
s = conn(); s.sendall(msg(7)); time.sleep(0.05); s.close()   # wrong version
s = conn(); s.sendall(msg(1)[:20]); s.close()                # the stream ends inside a message
pcap_hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
s = conn(); s.sendall(pcap_hdr + struct.pack("<IIII", 0, 0, 0x7fffffff, 60)); time.sleep(0.05); s.close()
shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
s = conn(); s.sendall(shb + struct.pack("<II", 1, 40) + b"\0" * 8); s.close()  # pcapng cut short
import zmq                                           # a ZeroMQ peer, reconnecting for 0.5 s
ctx = zmq.Context(); z = ctx.socket(zmq.PUSH); z.reconnect_ivl = 50
z.connect("tcp://127.0.0.1:%d" % port)
try:
    z.send(b"x", zmq.NOBLOCK)
except zmq.Again:
    pass
time.sleep(0.5); z.close(0); ctx.term()
t.join()
PY
peers=$!
udp_burst "$udp" "$K"
peak=0
while kill -0 "$peers" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$col/status")
    [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.1
done
wait "$peers" || fail "peer script: $(cat "$W/peers.log")"
udp_burst "$udp" "$K" # after all that, the good source still flows
sleep 0.5
curl -sf "http://127.0.0.1:$mcol/status" >"$W/status.json" || fail "/status"
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector 'source "good" said goodbye'
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" $((2 * K)) "good packets"
expect_eq "$(pcap_count "$W/out.pcap")" $((2 * K)) "nothing else written"
python3 - "$W/status.json" <<'PY' || fail "counters: $(cat "$W/status.json")"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
print(m)
# 5 random streams, 1 oversized, 1 cut stream, 1 absurd pcap record, 1 cut pcapng stream:
# framing errors (random bytes may by chance look like a capture stream: still an error);
# and 1 wrong version
assert m["wrong_version"] == 1, m
assert m["malformed"] >= 9, m
assert m["peers_dropped"] >= 11, m  # and the ZeroMQ peer, once or more
PY
grep -q 'new source "evil"' "$W/collector.log" && fail "a bad peer became a source"
expect_eq "$(grep -c 'speaks ZeroMQ, but this collector has RELAY_TRANSPORT=tcp-raw' "$W/collector.log")" 1 \
    "the ZeroMQ peer is named once, however often it reconnects"
[ "$peak" -lt 65536 ] || [ "${PK_SANITIZED:-OFF}" = ON ] || fail "collector RSS peaked at $peak KiB"
pass "bad tcp-raw peers dropped and counted, good source intact, RSS peak $peak KiB"
