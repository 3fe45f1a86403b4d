# A real ZeroMQ peer (pyzmq PUSH) sends garbage, truncated, wrong-version and oversized
# messages while a real agent relays: the bad ones are dropped and counted, the agent's packets
# all arrive, and the collector keeps running.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import zmq' 2>/dev/null || fail "python3-zmq is not installed"
port=$(free_port); udp=$(free_port); K=300
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=good RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg agent "$PCKTR"
ag=$BG_PID
wait_log collector 'source "good": host'
/usr/bin/python3 - "$port" <<'PY' 2>"$W/peer.log" &
import os, struct, sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.connect("tcp://127.0.0.1:%s" % sys.argv[1])
name = b"evil"
hdr = lambda ver, kind: b"PKTR" + bytes([ver, kind, len(name), 0]) + struct.pack("<QQQ", 1, 0, 0) + name
body = struct.pack("<IIQQ", 1, 3, 0, 0)  # claims 3 records, has none
for i in range(200):
    s.send(os.urandom(i % 97))                       # 200 random messages (malformed)
for i in range(50):
    s.send(hdr(3, 2) + body)                         # 50 of a protocol version it lacks
for i in range(50):
    s.send(hdr(1, 2) + body)                         # 50 claiming records they lack
    s.send(hdr(1, 2) + struct.pack("<IIQQ", 1, 1, 0, 0) + struct.pack("<QII", 0, 2**31, 2**31))
time.sleep(0.5)
s.close(linger=2000)
ctx.term()
PY
peer=$!
udp_burst "$udp" "$K"
wait "$peer" || fail "the zmq peer failed: $(cat "$W/peer.log")"
sleep 0.3
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector 'source "good" said goodbye'
kill -0 "$col" || fail "collector died"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" "$K" "good packets"
expect_eq "$(pcap_count "$W/out.pcap")" "$K" "nothing else in the output"
grep -q "dropped 300 malformed, 50 wrong-version, 0 oversized messages" "$W/collector.log" ||
    fail "bad-message counts: $(grep 'wrote' "$W/collector.log")"
grep -q 'new source "evil"' "$W/collector.log" && fail "a bad message created a source"
pass "350 bad messages dropped and counted; all $K good packets arrived"
