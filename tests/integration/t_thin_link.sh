# A thin link: namespaces "agent" and "collector" joined by a veth pair shaped to 20 Mbit/s
# (tc tbf), and a text-heavy capture (HTTP, DNS: gen_text_pcap.py) offered to the agent's
# capture device at about 40 Mbit/s for 3 s. Without compression the relay cannot keep up:
# counted relay drops, and captured = relayed + relay drops. With zstd every packet arrives,
# byte for byte, and the agent's wire bytes (/metrics) agree with the veth's transmitted bytes
# (ip -s link): these are at least the relay's bytes and at most 12% more plus 64 KiB (TCP/IP
# and Ethernet headers of about 4.5% at full segments, the transport's framing, ACKs, the
# retransmissions the shaper causes).
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
tag=$(printf '%05d' $((RANDOM % 100000)))
NSA=pk-thina-$tag NSC=pk-thinc-$tag VA=pkta$tag VC=pktc$tag VS=pkts$tag VT=pktt$tag
A=10.202.0.1 C=10.202.0.2
netns_pair "$NSA" "$NSC" "$VA" "$VC" $A $C
# The capture device: one end of a second pair, fed by the replay on the other end.
ip link add "$VS" mtu 9000 type veth peer name "$VT" mtu 9000
ip link set "$VS" netns "$NSA"
ip link set "$VT" netns "$NSA"
for ns in "$NSA" "$NSC"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_wmem="4096 65536 262144"
done
# No IPv6 on the replay's pair: the kernel's own router solicitations would be captured too.
for d in "$VS" "$VT"; do ip netns exec "$NSA" sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1"; done
for d in "$VA" "$VS" "$VT"; do ip -n "$NSA" link set "$d" up; done
ip -n "$NSC" link set "$VC" up
ip netns exec "$NSA" tc qdisc add dev "$VA" root tbf rate 20mbit burst 32kbit latency 50ms
IN_A=(ip netns exec "$NSA")
IN_C=(ip netns exec "$NSC")
for ((i = 0; i < 50; i++)); do "${IN_C[@]}" ping -c1 -W1 $A >/dev/null 2>&1 && break; sleep 0.1; done
python3 "$TESTS_DIR/gen_text_pcap.py" "$W/text.pcap" 300

port=7386 mport=9108
relay_bytes() { "${IN_A[@]}" curl -s "http://$A:$mport/metrics" | awk '$1 == "packeteur_relay_sent_bytes_total" {print $2}'; }
tx_bytes() { "${IN_A[@]}" ip -s -j link show dev "$VA" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["bytes"])'; }

run() { # NAME COMPRESSION: one agent relaying the replay for 3 s; sets SENT
    local name=$1 comp=$2
    MODE=collect COLLECT_ENDPOINT=tcp://$C:$port bg "col-$name" "${IN_C[@]}" "$PCKTR" >"$W/$name.pcap"
    local col=$BG_PID
    wait_log "col-$name" "collecting on"
    MODE=capture DEVICE="$VS" FILTER= SOURCE_NAME="$name" RELAY_ENDPOINT=tcp://$C:$port \
        METRICS_ADDRPORT=$A:$mport RELAY_COMPRESSION=$comp RELAY_QUEUE=64 BUFFER_SIZE=64M \
        bg "$name" "${IN_A[@]}" "$PCKTR"
    local ag=$BG_PID
    wait_log "col-$name" "source \"$name\": host"
    local tx0; tx0=$(tx_bytes)
    local sent0; sent0=$(relay_bytes)
    # The replay: the capture's frames in a loop, 5 MB/s (40 Mbit/s), paced every millisecond.
    "${IN_A[@]}" "$PY" - "$TESTS_DIR" "$W/text.pcap" "$VT" 3 >"$W/$name.sent" <<'PY'
import socket, sys, time
sys.path.insert(0, sys.argv[1]); import flow_hash as fh
_, pkts = fh.read_pcap(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[3], 0))
rate, secs, n, done = 5_000_000, float(sys.argv[4]), 0, 0
t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    due = (time.monotonic() - t0) * rate
    while done < due:
        f = pkts[n % len(pkts)][1]
        s.send(f); done += len(f); n += 1
    time.sleep(0.001)
print(n)
PY
    SENT=$(cat "$W/$name.sent")
    sleep 1.5 # the relay's queue drains
    RELAY=$(( $(relay_bytes) - sent0 ))
    TX=$(( $(tx_bytes) - tx0 ))
    kill -TERM "$ag"; wait_exit "$ag" 15; expect_eq "$EXIT_CODE" 0 "$name agent exit code"
    wait_log "col-$name" "source \"$name\" said goodbye" 15
    kill -TERM "$col"; wait_exit "$col"
    LINE=$(grep "done:" "$W/$name.log")
}

run plain none
read -r cap rel drops <<<"$(sed -n 's/.*captured \([0-9]*\), relayed \([0-9]*\), relay drops \([0-9]*\),.*/\1 \2 \3/p' <<<"$LINE")"
[ "$drops" -gt 0 ] || fail "no relay drops without compression: $LINE"
expect_eq "$((rel + drops))" "$cap" "plain: captured = relayed + relay drops ($LINE)"
expect_eq "$(pcap_count "$W/plain.pcap")" "$rel" "plain: written = relayed"
pass "20 Mbit/s, offered 40, no compression: $drops of $cap packets counted as relay drops"

run zstd zstd
grep -q "captured $SENT, relayed $SENT, relay drops 0, kernel drops 0" <<<"$LINE" ||
    fail "zstd: not every one of the $SENT packets sent was relayed: $LINE"
"$PY" - "$TESTS_DIR" "$W/text.pcap" "$W/zstd.pcap" "$SENT" <<'PY' || fail "zstd: the packets written are not the ones sent"
import sys
sys.path.insert(0, sys.argv[1]); import flow_hash as fh
_, pin = fh.read_pcap(sys.argv[2])
_, pout = fh.read_pcap(sys.argv[3])
n = int(sys.argv[4])
want = [pin[i % len(pin)][1] for i in range(n)]
got = [f for _, f in pout]
sys.exit(0 if got == want else 1)
PY
plain=$(sed -n 's/.*batch bytes \([0-9]*\), on the wire \([0-9]*\).*/\1/p' <<<"$LINE")
wire=$(sed -n 's/.*batch bytes \([0-9]*\), on the wire \([0-9]*\).*/\2/p' <<<"$LINE")
echo "  zstd: $SENT packets; batches $plain bytes, compressed $wire; relay sent $RELAY (/metrics), veth transmitted $TX"
[ "$TX" -ge "$RELAY" ] || fail "veth transmitted $TX bytes, less than the relay's $RELAY"
[ "$TX" -le $((RELAY * 112 / 100 + 65536)) ] || fail "veth transmitted $TX bytes, over 12% + 64 KiB above the relay's $RELAY"
[ "$RELAY" -ge "$wire" ] || fail "the relay sent less ($RELAY) than its compressed batches ($wire)"
pass "20 Mbit/s, offered 40, zstd: all $SENT packets byte-exact; relay $RELAY bytes, veth $TX (compression $((plain * 10 / wire / 10)).$((plain * 10 / wire % 10))x)"
