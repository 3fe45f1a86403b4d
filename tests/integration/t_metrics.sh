# /metrics on both modes: promtool accepts them, the seed's names, labels and bucket bounds are
# there, and the counts match known traffic (IPv4, IPv6 and ARP frames of known sizes on lo).
# Also: 404/405/HEAD, an occupied port, and an idle HTTP connection held open during traffic.
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || fail "promtool (Debian package prometheus) is not installed"

port=$(free_port); udp=$(free_port); mcol=$(free_port); mag=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture FILTER="udp dst port $udp or arp" SOURCE_NAME='agent"one' \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=:$mag bg agent "$PCKTR"
ag=$BG_PID
wait_log agent "connected to collector"
wait_log collector 'source "agent"one": host'

# An HTTP client that connects and says nothing stays connected while traffic flows.
exec 7<>"/dev/tcp/127.0.0.1/$mag"

# 30 IPv4 frames of 52 bytes, 20 of 142, 10 IPv6 frames of 1062, 5 ARP frames of 42.
python3 - "$udp" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for _ in range(30): s4.sendto(b"x" * 10, ("127.0.0.1", port))    # 14+20+8+10 = 52
for _ in range(20): s4.sendto(b"x" * 100, ("127.0.0.1", port))   # 142
for _ in range(10): s6.sendto(b"x" * 1000, ("::1", port))        # 14+40+8+1000 = 1062
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind(("lo", 0))
arp = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x07" + struct.pack("!H", 0x0806) + struct.pack(
    "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\x02\x00\x00\x00\x00\x07", bytes([10, 0, 0, 7]),
    bytes(6), bytes([10, 0, 0, 8]))
for _ in range(5): raw.send(arp)                                # 42
PY
sleep 1.5 # one heartbeat carries the agent's stats to the collector

curl -sf "http://127.0.0.1:$mag/metrics" >"$W/agent.prom" || fail "agent /metrics"
curl -sf "http://[::1]:$mag/metrics" >/dev/null || fail "agent /metrics over IPv6 (:PORT means every address)"
curl -sf "http://127.0.0.1:$mcol/metrics" >"$W/collector.prom" || fail "collector /metrics"
promtool check metrics <"$W/agent.prom" || fail "promtool rejects the agent's metrics"
promtool check metrics <"$W/collector.prom" || fail "promtool rejects the collector's metrics"

metric() { # metric FILE 'name{labels}' -> value (the key via ENVIRON: awk -v unescapes \")
    KEY=$2 awk '$1 == ENVIRON["KEY"] {print $2}' "$1"
}
a=$W/agent.prom
expect_eq "$(metric "$a" 'packeteur_capture_total{address_family="IPv4"}')" 50 "IPv4 total"
expect_eq "$(metric "$a" 'packeteur_capture_total{address_family="IPv6"}')" 10 "IPv6 total"
expect_eq "$(metric "$a" 'packeteur_capture_total{address_family="other"}')" 5 "other (ARP) total"
expect_eq "$(metric "$a" 'packeteur_capture_bytes_bucket{address_family="IPv4",le="64"}')" 30 "IPv4 <=64"
expect_eq "$(metric "$a" 'packeteur_capture_bytes_bucket{address_family="IPv4",le="128"}')" 30 "IPv4 <=128"
expect_eq "$(metric "$a" 'packeteur_capture_bytes_bucket{address_family="IPv4",le="256"}')" 50 "IPv4 <=256"
expect_eq "$(metric "$a" 'packeteur_capture_bytes_bucket{address_family="IPv6",le="1024"}')" 0 "IPv6 <=1024"
expect_eq "$(metric "$a" 'packeteur_capture_bytes_bucket{address_family="IPv6",le="2048"}')" 10 "IPv6 <=2048"
expect_eq "$(metric "$a" 'packeteur_capture_bytes_bucket{address_family="IPv6",le="+Inf"}')" 10 "IPv6 +Inf"
expect_eq "$(metric "$a" 'packeteur_capture_bytes_sum{address_family="IPv4"}')" $((30 * 52 + 20 * 142)) "IPv4 sum"
expect_eq "$(metric "$a" 'packeteur_capture_bytes_count{address_family="other"}')" 5 "ARP count"
expect_eq "$(metric "$a" 'packeteur_capture_bytes_sum{address_family="other"}')" $((5 * 42)) "ARP sum"
# The seed's bucket bounds, exactly: 2^6 .. 2^16 and +Inf.
bounds=$(grep '^packeteur_capture_bytes_bucket{address_family="IPv4"' "$a" | sed 's/.*le="\([^"]*\)".*/\1/' | tr '\n' ' ')
expect_eq "$bounds" "64 128 256 512 1024 2048 4096 8192 16384 32768 65536 +Inf " "bucket bounds"
grep -q '^# TYPE packeteur_capture_bytes histogram' "$a" || fail "histogram TYPE line"
grep -q '^# TYPE packeteur_capture_total counter' "$a" || fail "counter TYPE line"
for m in process_cpu_seconds_total process_resident_memory_bytes process_virtual_memory_bytes \
         process_open_fds process_max_fds process_start_time_seconds; do
    grep -q "^$m " "$a" || fail "agent lacks $m"
    grep -q "^$m " "$W/collector.prom" || fail "collector lacks $m"
done
expect_eq "$(metric "$a" 'packeteur_relay_connected')" 1 "relay connected"
expect_eq "$(metric "$a" 'packeteur_relay_packets_total')" 65 "relayed"
c=$W/collector.prom
# The source name has a double quote: it must be escaped in the label value.
expect_eq "$(metric "$c" 'packeteur_source_packets_total{source="agent\"one"}')" 65 "collector: source packets"
expect_eq "$(metric "$c" 'packeteur_source_agent_captured_total{source="agent\"one"}')" 65 "collector: agent captured"
expect_eq "$(metric "$c" 'packeteur_source_up{source="agent\"one"}')" 1 "collector: source up"
expect_eq "$(metric "$c" 'packeteur_sources{state="up"}')" 1 "collector: sources up"
expect_eq "$(metric "$c" 'packeteur_output_packets_total')" 65 "collector: output packets"

# HTTP behaviour: 404, 405 with Allow, HEAD without a body, JSON content type.
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mcol/nope")" 404 "unknown path"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mcol/metrics/x")" 404 "sub-path"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$mcol/status")" 405 "POST"
curl -s -D - -o /dev/null -X DELETE "http://127.0.0.1:$mcol/metrics" | grep -i '^allow: GET, HEAD' >/dev/null || fail "no Allow header"
head_out=$(curl -s -I "http://127.0.0.1:$mcol/status")
grep -q '^HTTP/1.1 200' <<<"$head_out" || fail "HEAD status"
grep -qi '^content-type: application/json' <<<"$head_out" || fail "HEAD content type"
expect_eq "$(curl -s -X HEAD --max-time 2 "http://127.0.0.1:$mcol/status" 2>/dev/null | wc -c)" 0 "HEAD body"
# A thousand scrapes while packets flow do not cost a packet.
udp_burst "$udp" 300 &
burst=$!
for ((i = 0; i < 1000; i++)); do echo "url = \"http://127.0.0.1:$mag/metrics\""; echo "output = /dev/null"; done >"$W/curl.cfg"
curl -s -K "$W/curl.cfg" || fail "scrapes failed"
wait "$burst"
# The occupied port: a second agent asking for the same metrics port exits 1 naming it.
rc=0
MODE=capture FILTER="udp dst port $udp" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    METRICS_ADDRPORT=127.0.0.1:$mcol timeout 10 "$PCKTR" 2>"$W/occupied.log" || rc=$?
expect_eq "$rc" 1 "exit code with the metrics port in use"
grep -q "METRICS_ADDRPORT=\"127.0.0.1:$mcol\": cannot listen on 127.0.0.1:$mcol: address already in use" \
    "$W/occupied.log" || fail "occupied port message: $(cat "$W/occupied.log")"

sleep 0.5
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code (an idle HTTP connection was open)"
exec 7<&-
wait_log collector "said goodbye"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" $((60 + 300)) "UDP packets written"
grep -q "captured 365, relayed 365, relay drops 0, kernel drops 0" "$W/agent.log" || fail "agent totals after scrapes"
pass "metrics: promtool ok, exact counts and buckets, HTTP behaviour, 1000 scrapes cost nothing"
