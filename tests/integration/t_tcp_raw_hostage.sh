# Receive budget held hostage: four connections each send a valid hello, then all but the end
# of a 16 MiB message, and then a byte a second, so that together they hold the shared 64 MiB
# budget; a fifth does the same and then sends nothing. A real agent sending 1 MiB batches
# waits behind them. While it waits, those that hold budget and do not finish are closed
# (budget_held), the silent one when its partial message gets no byte (stalled), and every one
# of the agent's packets arrives.
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 3000 13 # about 4 MB: four 1 MiB batches
port=$(free_port); mcol=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "collecting on"
python3 - "$port" "$TESTS_DIR" <<'PY' >"$W/hostages.log" 2>&1 &
import socket, struct, sys, threading, time
sys.path.insert(0, sys.argv[2]); import pktr_wire as w
port = int(sys.argv[1])
BIG = 16 << 20  # the largest message the collector takes
def hostage(drip, sid):
    s = socket.create_connection(("127.0.0.1", port))
    h = w.hello(source_id=sid, seq=0, name="hostage%d" % sid)  # a peer that proves itself first
    s.sendall(struct.pack("<I", len(h)) + h)
    # a valid-looking start: the length of a 16 MiB message, then all of it but 100 bytes
    s.sendall(struct.pack("<I", BIG) + b"PKTR\x01\x02\x04\x00" + b"\0" * (BIG - 108))
    try:
        while drip:
            time.sleep(1); s.send(b"\0")
        time.sleep(60)
    except OSError:
        print("closed by the collector", flush=True)
ts = [threading.Thread(target=hostage, args=(True, i), daemon=True) for i in range(4)]
for t in ts:
    t.start(); time.sleep(0.2)
threading.Thread(target=hostage, args=(False, 9), daemon=True).start()
time.sleep(60)
PY
PIDS+=($!)
sleep 1.5
MODE=capture READ_FILE="$W/in.pcap" BATCH_BYTES=1M LINGER=40s SOURCE_NAME=good \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent "$PCKTR"
ag=$BG_PID
wait_exit "$ag" 45; expect_eq "$EXIT_CODE" 0 "agent exit code"
grep -q "captured 3000, relayed 3000, relay drops 0" "$W/agent.log" || fail "agent dropped"
wait_log collector 'source "good" said goodbye' 10
for ((i = 0; i < 150; i++)); do # the silent one: closed once its message gets no byte
    curl -sf -m 3 "http://127.0.0.1:$mcol/status" >"$W/status.json" || fail "/status"
    grep -q '"timed_out_stalled":1' "$W/status.json" && break
    sleep 0.1
done
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
diff <(pcap_dump "$W/in.pcap") <(pcap_dump "$W/out.pcap") >/dev/null || fail "output differs"
python3 - "$W/status.json" <<'PY' || fail "counters: $(cat "$W/status.json")"
import json, sys
d = json.load(open(sys.argv[1]))
c, m = d["security"]["connections"], d["messages"]
print(c, m["buffer_waits"])
assert c["timed_out_budget_held"] == 4, c
assert c["timed_out_stalled"] == 1, c
assert m["buffer_waits"] >= 2, m
PY
pass "hostages of the receive budget closed (4 held, 1 stalled); the agent's 3000 packets arrived"
