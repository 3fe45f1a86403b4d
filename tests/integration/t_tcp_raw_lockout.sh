# tcp-raw lock-out: 2,000 connections that never send a byte, first from one address, then from
# 40 addresses of 127.0.0.0/8 (all loopback), against a collector with the shipped unit's soft
# limit of 1,024 descriptors. /metrics answers throughout, the collector does not spin, and real
# agents that connect afterwards get every packet through. Then, with a hard limit of 200
# descriptors and every slot held by peers that did send a valid hello, further connections
# are refused at once and counted, per address and in total.
source "$(dirname "$0")/lib.sh"

port=$(free_port); udp=$(free_port); mcol=$(free_port); K=200
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metrics_ok() { curl -sf -m 3 "http://127.0.0.1:$mcol/metrics" >"$W/metrics.txt" || fail "/metrics: $1"; }
# flood ADDRS COUNT: COUNT idle connections spread over ADDRS source addresses; prints
# "ready" and holds them until stdin closes.
flood() {
    python3 -c '
import resource, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
port, naddr, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
held = []
for i in range(count):
    s = socket.socket(); s.settimeout(5)
    if naddr > 1:
        s.bind(("127.0.%d.%d" % (1 + i % naddr // 200, 1 + i % naddr % 200), 0))
    try:
        s.connect(("127.0.0.1", port)); held.append(s)
    except OSError:
        pass
print("ready", flush=True)
sys.stdin.read()
' "$port" "$1" "$2"
}
agent() { # agent NAME: an agent on lo for udp port $udp
    MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=$1 RELAY_ENDPOINT=tcp://127.0.0.1:$port \
        bg "$1" "$PCKTR"
}
wait_written() { # wait_written N: until the collector has written N packets (bounded)
    local i
    for ((i = 0; i < 300; i++)); do
        curl -sf -m 3 "http://127.0.0.1:$mcol/metrics" >"$W/metrics.txt" || fail "/metrics while waiting"
        [ "$(awk '/^packeteur_output_packets_total / {print $2}' "$W/metrics.txt")" -ge "$1" ] && return
        sleep 0.1
    done
    fail "the collector wrote $(awk '/^packeteur_output_packets_total / {print $2}' "$W/metrics.txt") of $1 packets"
}

# The shipped unit's soft limit (the hard one above it): pcktr takes the hard one.
(ulimit -Sn 1024; MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port \
    METRICS_ADDRPORT=127.0.0.1:$mcol exec "$PCKTR" >"$W/out.pcap" 2>"$W/collector.log") &
col=$!; PIDS+=("$col")
wait_log collector "collecting on"
for round in 1 40; do
    coproc FLOOD { flood "$round" 2000; }
    PIDS+=("$FLOOD_PID")
    read -r -t 40 line <&"${FLOOD[0]}" || fail "flood ($round addresses) did not finish"
    t0=$(cpu_ticks "$col"); s0=$(date +%s%N)
    metrics_ok "with 2000 idle connections from $round address(es)"
    agent "good$round"
    wait_log "good$round" "connected to collector" 20
    sleep 1
    udp_burst "$udp" "$K"
    wait_written $((round == 1 ? K : 2 * K + K))
    metrics_ok "after the agent's packets"
    t1=$(cpu_ticks "$col"); s1=$(date +%s%N)
    # CPU time against wall time while the flood is held: a spinning accept loop takes all of it
    ticks=$((t1 - t0)); wall=$(((s1 - s0) / 10000000)) # both in 1/100 s
    [ "$ticks" -lt $((wall / 2)) ] || fail "collector used $ticks of $wall ticks ($round addresses)"
    echo "$round address(es): collector CPU $ticks of $wall ticks while the flood was held"
    exec {FLOOD[1]}>&-
    wait "$FLOOD_PID" 2>/dev/null || true
done
curl -sf -m 3 "http://127.0.0.1:$mcol/status" >"$W/status.json" || fail "/status"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
# good1's packets are written once, good40's also see good1's second burst (same filter)
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" $((3 * K)) "agents' packets"
python3 - "$W/status.json" "$(ulimit -Hn)" <<'PY' || fail "counters: $(cat "$W/status.json")"
import json, sys
c = json.load(open(sys.argv[1]))["security"]["connections"]
print(c)
assert c["limit"] == min(1024, int(sys.argv[2]) - 64), c  # the soft limit was raised to the hard one
assert c["refused_per_address"] == 0, c             # idle ones made room instead
assert c["timed_out_first_message"] >= 2000 - 2 * 64, c
PY

# A hard limit of 200 descriptors: 136 connections. Peers that each sent a valid hello hold
# them: past 64 from one address, and past 136 in all, connections are refused and counted.
port=$(free_port); mcol=$(free_port)
(ulimit -n 200; MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port \
    METRICS_ADDRPORT=127.0.0.1:$mcol exec "$PCKTR" >/dev/null 2>"$W/collector2.log") &
col=$!; PIDS+=("$col")
wait_log collector2 "collecting on"
python3 - "$port" "$TESTS_DIR" "http://127.0.0.1:$mcol/status" <<'PY' 2>"$W/proven.log" ||
import json, socket, sys, time, urllib.request
sys.path.insert(0, sys.argv[2]); import pktr_wire as w
port, url = int(sys.argv[1]), sys.argv[3]
received = lambda: json.load(urllib.request.urlopen(url))["messages"]["received"]
def proven(addr, i):
    """Connects and sends a hello; returns once the collector took it, or closed the socket."""
    before = received()
    s = socket.socket(); s.bind((addr, 0)); s.connect(("127.0.0.1", port))
    m = w.hello(source_id=1000 + i, seq=0, name="p%d" % i)
    try:
        s.sendall(len(m).to_bytes(4, "little") + m)
    except OSError:
        return s  # refused: closed at once
    for _ in range(1000):  # each is in before the next comes (an unproven one would make room)
        if received() > before:
            return s
        try:
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                return s  # refused
        except BlockingIOError:
            pass
        except OSError:
            return s
        time.sleep(0.005)
    raise SystemExit("hello %d neither taken nor refused" % i)
held = [proven("127.0.3.1", i) for i in range(70)]            # 6 past the per-address limit
held += [proven("127.0.3.%d" % (2 + i % 3), 100 + i) for i in range(90)]  # 136 - 64 = 72 fit
time.sleep(0.5)
PY
    fail "proven peers: $(cat "$W/proven.log")"
curl -sf -m 3 "http://127.0.0.1:$mcol/status" >"$W/status2.json" || fail "/status at the limit"
kill -TERM "$col"; wait_exit "$col"
python3 - "$W/status2.json" <<'PY' || fail "counters at the limit: $(cat "$W/status2.json")"
import json, sys
c = json.load(open(sys.argv[1]))["security"]["connections"]
print(c)
assert c["limit"] == 136, c
assert c["refused_per_address"] == 6, c
assert c["refused_limit"] == 90 - 72, c
PY
pass "2000 idle connections (1 and 40 addresses): agents get through, /metrics answers, limits counted"
