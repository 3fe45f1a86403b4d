# A plain capture stream that sent one large record (its buffer grew past the free size and was
# given back) and then went idle, while a slow reader makes intake pause and resume: each resume
# parses the idle stream's empty buffer. The sanitizer build aborted there (memmove(NULL, NULL,
# 0) in consume()); now the collector goes on, and the stream's record and every packet of a
# busy peer are written.
source "$(dirname "$0")/lib.sh"

port=$(free_port); mcol=$(free_port)
mkfifo "$W/stdout.fifo"
python3 -c ' # about 3 MB/s
import sys, time
out = open(sys.argv[1], "wb"); src = open(sys.argv[2], "rb", buffering=0)
while True:
    b = src.read(32768)
    if not b: break
    out.write(b); time.sleep(0.01)
' "$W/out.pcap" "$W/stdout.fifo" &
PIDS+=($!)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    OUTPUT_BUFFER=256K OUTPUT_FORMAT=pcapng bg collector "$PCKTR" >"$W/stdout.fifo"
col=$BG_PID
wait_log collector "collecting on"
python3 - "$port" "$TESTS_DIR" <<'PY' >"$W/peers.log" 2>&1 || fail "peers: $(cat "$W/peers.log")"
import socket, struct, sys, time
sys.path.insert(0, sys.argv[2]); import pktr_wire as w
port = int(sys.argv[1])
cap = socket.create_connection(("127.0.0.1", port))           # tcpdump -w - | nc, in effect
big = w.udp_frame(b"B" * 60000, dport=5000) + b"\0" * 140000  # 200 KB: past the free size
cap.sendall(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1) +
            struct.pack("<IIII", 1, 0, len(big), len(big)) + big)
time.sleep(1)                                                  # now idle, buffer given back
p = w.TcpRaw("127.0.0.1", port, timeout=60)
p.send(w.hello(5, 0, "busy"))
frames = [w.udp_frame(b"x" * 1000, dport=6000)] * 50
for seq in range(1, 201):                                      # 10 MB through a 3 MB/s reader
    p.send(w.packets(5, seq, "busy", (seq - 1) * 50, frames))
p.send(w.goodbye(5, 201, "busy", relayed=10000))
time.sleep(1)
cap.close(); p.close()
PY
wait_log collector 'source "busy" said goodbye' 30
kill -0 "$col" 2>/dev/null || fail "the collector died"
for ((i = 0; i < 300; i++)); do
    [ "$(pcap_count "$W/out.pcap" "udp dst port 6000")" -ge 10000 ] && break
    sleep 0.1
done
kill -TERM "$col"; wait_exit "$col" 20; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port 6000")" 10000 "busy peer's packets"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port 5000")" 1 "the capture stream's record"
! grep -q "runtime error" "$W/collector.log" || fail "sanitizer: $(grep "runtime error" "$W/collector.log")"
pass "idle capture stream through pauses and resumes: collector intact, every packet written"
