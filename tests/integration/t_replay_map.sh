# READ_FILE's fast path (src/agent/replay_map.c reads classic pcap in place) must give what
# libpcap gives, record for record, and hand anything unusual to libpcap: the oracle is tcpdump
# reading the same file. Files: nanosecond and microsecond magic, the other byte order (libpcap
# reads it all), records longer than the header's snaplen, records across the map's windows,
# a last record cut short, FILTER on what the map reads, and a file that shrinks while it is
# mapped (a clear error, exit 1).
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 3000
expect_eq "$(pcap_count "$W/in.pcap")" 3000 "generated capture"
python3 - "$W" <<'EOF'
import struct, sys
w = sys.argv[1]
data = open(f"{w}/in.pcap", "rb").read()
hdr, body = data[:24], data[24:]
recs, off = [], 0
while off < len(body):
    sec, ns, cap, orig = struct.unpack_from("<IIII", body, off)
    recs.append((sec, ns, cap, orig, body[off + 16:off + 16 + cap]))
    off += 16 + cap
magic, major, minor, zone, figs, snap, lt = struct.unpack("<IHHiIII", hdr)
def write(name, end, magic, snap, frac):
    with open(f"{w}/{name}", "wb") as f:
        f.write(struct.pack(end + "IHHiIII", magic, 2, 4, 0, 0, snap, lt))
        for sec, ns, cap, orig, b in recs:
            f.write(struct.pack(end + "IIII", sec, frac(ns), cap, orig) + b)
write("us.pcap", "<", 0xa1b2c3d4, snap, lambda ns: ns // 1000)
write("be.pcap", ">", 0xa1b23c4d, snap, lambda ns: ns)
# the header says 1000: the first longer record goes to libpcap, which reads on from there
write("bigrec.pcap", "<", 0xa1b23c4d, 1000, lambda ns: ns)
# 6 copies of the records, 6.7 MB: records cross the 2 MiB windows the map reads through
open(f"{w}/long.pcap", "wb").write(hdr + body * 6)
open(f"{w}/trunc.pcap", "wb").write(data[:len(data) - recs[-1][2] // 2 - 1])
EOF

# replay NAME INPUT [VAR=VALUE...]: agent -> collector -> out-NAME.pcap; the agent's exit code
# in AGENT_RC, its log in agent-NAME.log.
replay() {
    local name=$1 input=$2 port col; shift 2
    port=$(free_port)
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >"$W/out-$name.pcap"
    col=$BG_PID
    wait_log collector "collecting on"
    AGENT_RC=0
    env MODE=capture READ_FILE="$input" RELAY_ENDPOINT=tcp://127.0.0.1:$port SOURCE_NAME=replay \
        "$@" "$PCKTR" 2>"$W/agent-$name.log" || AGENT_RC=$?
    wait_log collector 'source "replay" said goodbye'
    kill -TERM "$col"
    wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "$name: collector exit code"
}
same_as_tcpdump() { # NAME INPUT [FILTER]
    # tcpdump exits 1 after a cut record, having printed the packets before it
    tcpdump --time-stamp-precision=nano -tt -nn -x -r "$2" ${3:+"$3"} 2>/dev/null >"$W/want-$1.txt" || true
    pcap_dump "$W/out-$1.pcap" >"$W/got-$1.txt"
    [ -s "$W/want-$1.txt" ] || fail "$1: tcpdump read nothing"
    cmp -s "$W/want-$1.txt" "$W/got-$1.txt" || fail "$1: differs from tcpdump's reading"
}

for f in in us be bigrec; do
    replay "$f" "$W/$f.pcap"
    expect_eq "$AGENT_RC" 0 "$f: agent exit code"
    grep -q "captured 3000, relayed 3000, relay drops 0" "$W/agent-$f.log" || fail "$f: totals"
    same_as_tcpdump "$f" "$W/$f.pcap"
    pass "$f.pcap: the same 3000 packets as tcpdump reads"
done
replay long "$W/long.pcap"
expect_eq "$AGENT_RC" 0 "long: agent exit code"
grep -q "captured 18000, relayed 18000, relay drops 0" "$W/agent-long.log" || fail "long: totals"
same_as_tcpdump long "$W/long.pcap"
pass "long.pcap: the same 18000 packets across the map's windows"
# microsecond timestamps are the nanosecond ones rounded down to the microsecond
expect_eq "$(grep -cE '^[0-9]+\.[0-9]{6}000 ' "$W/got-us.txt")" 3000 "us: whole microseconds"
[ "$(grep -cE '^[0-9]+\.[0-9]{6}000 ' "$W/got-in.txt")" -lt 100 ] || fail "in: ns rounded"

replay udp "$W/in.pcap" FILTER="udp"
expect_eq "$AGENT_RC" 0 "FILTER: agent exit code"
same_as_tcpdump udp "$W/in.pcap" udp
n=$(wc -l <"$W/want-udp.txt")
[ "$(pcap_count "$W/out-udp.pcap")" -gt 0 ] && [ "$(pcap_count "$W/out-udp.pcap")" -lt 3000 ] ||
    fail "FILTER: $(pcap_count "$W/out-udp.pcap") packets"
pass "FILTER=udp: what tcpdump's udp takes ($n lines)"

# The last record cut short: the 2999 before it arrive, then libpcap's error, exit 1.
replay trunc "$W/trunc.pcap"
expect_eq "$AGENT_RC" 1 "truncated: agent exit code"
grep -q "truncated dump file" "$W/agent-trunc.log" || fail "truncated: $(tail -n 2 "$W/agent-trunc.log")"
expect_eq "$(pcap_count "$W/out-trunc.pcap")" 2999 "truncated: packets delivered"
same_as_tcpdump trunc "$W/trunc.pcap"
pass "a cut last record: 2999 packets and libpcap's error, exit 1"

# A file that shrinks while mapped: the agent, held back by a stopped collector, is in the
# middle of a 60 MB file when it is cut to 1 MB; it must say so and exit 1, not dump core.
python3 "$TESTS_DIR/gen_pcap.py" "$W/big.pcap" 30000
python3 - "$W/big.pcap" <<'EOF'
import sys
a = open(sys.argv[1], "rb").read()
with open(sys.argv[1], "ab") as f:
    for _ in range(60000000 // len(a)):
        f.write(a[24:])
EOF
port=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >/dev/null
col=$BG_PID
wait_log collector "collecting on"
kill -STOP "$col"
MODE=capture READ_FILE="$W/big.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_TIMEOUT=30s \
    bg agent "$PCKTR"
agent=$BG_PID
sleep 1.5
truncate -s 1000000 "$W/big.pcap"
kill -CONT "$col"
wait_exit "$agent" 20
expect_eq "$EXIT_CODE" 1 "shrunk file: agent exit code"
grep -q "READ_FILE shrank while it was being read" "$W/agent.log" || fail "shrunk: $(tail -n 2 "$W/agent.log")"
pass "a file cut while mapped: a clear error and exit 1"
