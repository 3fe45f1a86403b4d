# RELAY_RATE_LIMIT: a live capture offered about twice the limit relays at the limit (within 5%
# over a 3 s window: the bucket's burst, 50 ms of the rate, is 1.7% of it, the rest is the
# scrapes' timing), the rest is counted as rate limited, and the books close:
# captured = relayed + relay drops + rate limited, at the agent and at the collector. A
# READ_FILE replay is paced instead: every packet arrives, none rate limited, and the replay
# takes its bytes over the rate (within 5%, less the bucket's first burst).
source "$(dirname "$0")/lib.sh"

port=$(free_port) udp=$(free_port) mport=$(free_port)
RATE=1048576 # 1M
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture DEVICE=lo FILTER="udp port $udp" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    RELAY_RATE_LIMIT=1M BATCH_BYTES=16K METRICS_ADDRPORT=127.0.0.1:$mport bg agent "$PCKTR"
ag=$BG_PID
wait_log agent "connected to collector"
wait_log collector "source .*filter"
sent() { curl -s "http://127.0.0.1:$mport/metrics" | awk '$1 == "packeteur_relay_sent_bytes_total" {print $2}'; }

# 2000 datagrams of 1000 bytes a second (about 2.1 MB/s captured) for 5 s.
python3 - "$udp" 5 >"$W/sender.out" <<'PY' &
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = bytes(range(256)) * 3 + bytes(232)
t0 = time.monotonic(); n = 0
while time.monotonic() - t0 < secs:
    due = int((time.monotonic() - t0) * 2000)
    while n < due:
        s.sendto(payload, ("127.0.0.1", port)); n += 1
    time.sleep(0.001)
print(n)
PY
sender=$!
sleep 1.5
b0=$(sent); t0=$(date +%s.%N)
sleep 3
b1=$(sent); t1=$(date +%s.%N)
wait "$sender"
sleep 0.5
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector "said goodbye"
kill -TERM "$col"
wait_exit "$col"

rate=$(python3 -c "print(round(($b1 - $b0) / ($t1 - $t0)))")
echo "  measured $rate bytes/s on the wire for RELAY_RATE_LIMIT=$RATE"
python3 -c "import sys; sys.exit(0 if abs($rate - $RATE) <= 0.05 * $RATE else 1)" ||
    fail "rate $rate is not within 5% of $RATE"
line=$(grep "done:" "$W/agent.log")
read -r cap rel drops lim <<<"$(sed -n 's/.*captured \([0-9]*\), relayed \([0-9]*\), relay drops \([0-9]*\), .*rate limited \([0-9]*\),.*/\1 \2 \3 \4/p' <<<"$line")"
[ "${lim:-0}" -gt $((cap / 4)) ] || fail "too few rate limited: $line"
expect_eq "$((rel + drops + lim))" "$cap" "captured = relayed + relay drops + rate limited ($line)"
grep -q "RELAY_RATE_LIMIT=$RATE bytes/s reached" "$W/agent.log" || fail "no rate-limit line"
[ "$(grep -c 'RELAY_RATE_LIMIT=.*reached' "$W/agent.log")" -lt 20 ] || fail "rate-limit log lines flood"
expect_eq "$(pcap_count "$W/out.pcap")" "$rel" "packets written = relayed"
grep -q "agent: captured $cap, relayed $rel, relay drops $drops, kernel drops 0, interface drops 0, rate limited $lim" "$W/collector.log" ||
    fail "collector's books of the agent: $(grep 'said goodbye' "$W/collector.log")"
pass "RELAY_RATE_LIMIT=1M: $rate bytes/s; $lim of $cap packets rate limited, counted at both ends"

# READ_FILE: paced by the bucket, nothing lost.
python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 2400
port=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector2 "$PCKTR" >"$W/file.pcap"
col=$BG_PID
wait_log collector2 "collecting on"
t0=$(date +%s.%N)
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port RELAY_RATE_LIMIT=1M \
    "$PCKTR" 2>"$W/agent2.log" || fail "READ_FILE agent exited $?"
t1=$(date +%s.%N)
wait_log collector2 "said goodbye"
kill -TERM "$col"; wait_exit "$col"
grep -q "captured 2400, relayed 2400, relay drops 0, kernel drops 0, interface drops 0, rate limited 0" "$W/agent2.log" ||
    fail "READ_FILE under the limit: $(grep done: "$W/agent2.log")"
expect_eq "$(pcap_count "$W/file.pcap")" 2400 "READ_FILE packets written"
wire=$(sed -n 's/.*on the wire \([0-9]*\).*/\1/p' "$W/agent2.log")
python3 - "$t0" "$t1" "$wire" "$RATE" <<'PY' || fail "READ_FILE pacing is not within 5% of the rate"
import sys
t0, t1, wire, rate = map(float, sys.argv[1:5])
# the bucket starts full: 50 ms of the rate, or one batch of the default BATCH_BYTES (192K)
want = (wire - max(rate / 20, 196608)) / rate
print("  READ_FILE: %.0f bytes in %.2f s, %.2f s expected" % (wire, t1 - t0, want))

sys.exit(0 if abs((t1 - t0) - want) <= 0.05 * want else 1)
PY
pass "RELAY_RATE_LIMIT=1M with READ_FILE: paced, all 2400 packets, none rate limited"
