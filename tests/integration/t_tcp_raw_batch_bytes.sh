# BATCH_BYTES bounds every message an agent sends: a packet that would take the open batch past
# it starts the next batch, and only a packet larger than BATCH_BYTES goes alone. So an agent's
# messages fit a collector's COLLECT_MAX_MESSAGE of BATCH_BYTES (docs/PROTOCOL.md, "Sizes"). The
# collector here is a plain TCP listener written from the document, which records the size and
# records of every message; every packet of the file must arrive, in order, in full batches.
source "$(dirname "$0")/lib.sh"

port=$(free_port)
python3 - "$W/in.pcap" <<'EOF'
import random, struct, sys
rng = random.Random(7)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
    for i in range(3000):
        # mostly small frames; every 97th a 6000-byte one, larger than BATCH_BYTES=4K below
        n = 6000 if i % 97 == 50 else rng.randint(60, 400)
        body = struct.pack(">I", i) + bytes(n - 4)
        f.write(struct.pack("<IIII", 1700000000, i, n, n) + body)
EOF
python3 - "$port" >"$W/sizes.txt" 2>"$W/listener.log" <<'EOF' &
import socket, struct, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(1); srv.settimeout(30)
print("listening", file=sys.stderr, flush=True)
c, _ = srv.accept(); c.settimeout(30)
buf = b""
def need(n):
    global buf
    while len(buf) < n:
        d = c.recv(1 << 20)
        if not d:
            return False
        buf += d
    return True
while need(4):
    (length,) = struct.unpack("<I", buf[:4])
    if not need(4 + length):
        break
    m, buf = buf[4:4 + length], buf[4 + length:]
    kind, namelen = m[5], m[6]
    if kind == 2:  # packets: header 32 + name, then the body header (24 bytes) and the records
        body = m[32 + namelen:]
        count = struct.unpack("<I", body[4:8])[0]
        pos, first = 24, None
        for _ in range(count):
            caplen = struct.unpack("<I", body[pos + 8:pos + 12])[0]
            idx = struct.unpack(">I", body[pos + 16:pos + 20])[0]
            first = idx if first is None else first
            pos += 16 + caplen
        print(length, count, first, idx, flush=True)
    if kind == 4:
        break
c.shutdown(socket.SHUT_WR)  # the collector's end of the connection, after the agent's goodbye
c.close()
EOF
lp=$!
PIDS+=("$lp")
wait_log listener "listening"
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port BATCH_BYTES=4K \
    SOURCE_NAME=batch "$PCKTR" 2>"$W/agent.log" || { cat "$W/agent.log" >&2; fail "the agent failed"; }
wait "$lp" || fail "the listener failed: $(cat "$W/listener.log")"
python3 - "$W/sizes.txt" <<'EOF' || fail "messages over BATCH_BYTES, or packets missing (sizes in $W/sizes.txt)"
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
assert rows, "no packets message"
nxt, full = 0, 0
for length, count, first, last in rows:
    alone = count == 1 and first % 97 == 50  # a 6000-byte packet
    assert length <= 4096 or alone, "a %d-byte message of %d records (packet %d)" % (length, count, first)
    assert first == nxt, "packet %d where %d was next" % (first, nxt)
    nxt = last + 1
    full += length > 4096 - (16 + 400)  # no room left for another small record
assert nxt == 3000, "%d of 3000 packets" % nxt
# Batching still fills messages: every batch but those cut short by a large packet or the end
assert full >= len(rows) - 2 * 31 - 2, "%d of %d messages full" % (full, len(rows))
print("%d messages, %d full, largest %d bytes" % (len(rows), full, max(r[0] for r in rows)))
EOF
pass "every message within BATCH_BYTES but a single larger packet; all 3000 packets in order"
