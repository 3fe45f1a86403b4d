# GET /stream on the collector's HTTP server. A reader that connects and waits longer than the
# HTTP stall reset (5 s) is not cut off; `curl -sN '/stream?format=pcapng&filter=udp' | tshark`
# gets exactly `tcpdump -r stdout.pcap udp`, byte for byte, and a classic pcap reader's stream
# reads in `tcpdump -r -`; both show in /status readers (kind stream, format, filter). A curl
# frozen with SIGSTOP costs its SERVE_BUFFER: its drops are counted, what it got plus its drops
# is every packet, and stdout loses nothing. The stream ends cleanly (curl exits 0) when the
# collector stops. A bad filter gets 400 with libpcap's message, an unknown parameter or
# format 400, an address outside SERVE_ALLOW 403 (counted in /status reader_access).
source "$(dirname "$0")/lib.sh"

N=3000
python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" "$N" # about 4 MB, UDP, TCP and ARP
port=$(free_port); mport=$(free_port)
URL=http://127.0.0.1:$mport/stream
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
    SERVE_BUFFER=1M bg collector "$PCKTR" >"$W/stdout.pcap"
col=$BG_PID
wait_log collector "collecting on"

# Bad requests first: nothing is admitted.
expect_eq "$(curl -s -o "$W/400.txt" -w '%{http_code}' "$URL?filter=udp+port+nine")" 400 "bad filter"
grep -q "^filter \"udp port nine\": unknown port 'nine'" "$W/400.txt" ||
    fail "the 400 does not quote libpcap: $(cat "$W/400.txt")"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL?format=pcapx")" 400 "bad format"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL?filtre=udp")" 400 "unknown parameter"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL?filter=%zz")" 400 "bad escape"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL")" 405 "POST /stream"

# Three readers: pcapng filtered into tshark, classic pcap into tcpdump, and one to be frozen.
(curl -sN "$URL?format=pcapng&filter=udp" | tee "$W/ng.raw" |
    tshark -r - -T fields -e frame.interface_name -e frame.time_epoch -e frame.cap_len \
        >"$W/ng.fields" 2>"$W/tshark.err"; echo "${PIPESTATUS[0]}" >"$W/ng.rc") &
PIDS+=("$!"); ng=$!
(curl -sN "$URL" | tcpdump -nn -r - >"$W/pcap.txt" 2>"$W/tcpdump.err"; echo "${PIPESTATUS[0]}" >"$W/pcap.rc") &
PIDS+=("$!"); pc=$!
curl -sN "$URL?format=pcap-ns" -o "$W/frozen.pcap" & PIDS+=("$!"); frozen=$!
readers() { curl -sf "http://127.0.0.1:$mport/status" >"$W/status.json" && python3 -c '
import json, sys
print(sum(1 for r in json.load(open(sys.argv[1]))["readers"] if r["kind"] == "stream"))' "$W/status.json"; }
for ((i = 0; i < 100; i++)); do [ "$(readers)" = 3 ] && break; sleep 0.05; done
expect_eq "$(readers)" 3 "stream readers in /status"
kill -STOP "$frozen"
sleep 5.5 # idle past the stall reset of rendered bodies: streams are not subject to it
expect_eq "$(readers)" 3 "stream readers after 5.5 s without a byte"

# In ten bursts of 400 KB, which fast readers take in stride (a replay runs at full speed) and
# the frozen one cannot: it holds SERVE_BUFFER and what the kernel buffers for it.
mkdir "$W/parts"
editcap -c $((N / 10)) "$W/in.pcap" "$W/parts/part.pcap"
for f in "$W"/parts/part*.pcap; do
    MODE=capture READ_FILE="$f" SOURCE_NAME=replay RELAY_ENDPOINT=tcp://127.0.0.1:$port \
        "$PCKTR" 2>>"$W/agent.log" || fail "agent exit $?"
    sleep 0.15
done
# Every packet is accounted for at each reader (sent, filtered or dropped) once the merge has
# passed it on; on a loaded machine that can take a while, so wait for it rather than guess.
settled() { curl -sf "http://127.0.0.1:$mport/status" >"$W/status.json" && python3 -c '
import json, sys
rs = [r for r in json.load(open(sys.argv[1]))["readers"] if r["kind"] == "stream"]
sys.exit(0 if all(r["packets"] + r["filtered"] + sum(r["dropped"].values()) == int(sys.argv[2])
                  for r in rs) else 1)' "$W/status.json" "$N"; }
for ((i = 0; i < 200; i++)); do settled && break; sleep 0.05; done
python3 - "$W/status.json" "$N" >"$W/frozen.expect" <<'PY' || fail "/status readers: $(cat "$W/status.json")"
import json, sys
rs = [r for r in json.load(open(sys.argv[1]))["readers"] if r["kind"] == "stream"]
n = int(sys.argv[2])
ng = [r for r in rs if r["format"] == "pcapng"]
fz = [r for r in rs if r["format"] == "pcap-ns"]
us = [r for r in rs if r["format"] == "pcap"]
assert len(ng) == len(fz) == len(us) == 1, rs
assert ng[0]["filter"] == "udp" and ng[0]["endpoint"] == "GET /stream", ng
assert ng[0]["peer"].startswith("127.0.0.1:"), ng
assert ng[0]["packets"] + ng[0]["filtered"] == n and ng[0]["dropped"]["queue_full"] == 0, ng
assert us[0]["packets"] == n and us[0]["dropped"]["queue_full"] == 0, us
f = fz[0]
assert f["dropped"]["queue_full"] > 0 and f["packets"] + f["dropped"]["queue_full"] == n, f
assert f["queue_limit_bytes"] == 1 << 20 and f["queue_bytes"] <= 1 << 20, f
print(f["packets"])
PY
kill -CONT "$frozen"
# Stopping gives a stream reader 1 s to take the rest of its queue; let the thawed one take it now.
drained() { curl -sf "http://127.0.0.1:$mport/status" >"$W/status.json" && python3 -c '
import json, sys
sys.exit(0 if all(r["queue_bytes"] == 0 for r in json.load(open(sys.argv[1]))["readers"]
                  if r["kind"] == "stream") else 1)' "$W/status.json"; }
for ((i = 0; i < 200; i++)); do drained && break; sleep 0.05; done
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
wait_exit "$ng"; wait_exit "$pc"; wait_exit "$frozen"
expect_eq "$EXIT_CODE" 0 "curl exit status of the frozen reader (a clean end)"
expect_eq "$(cat "$W/ng.rc")" 0 "curl exit status (pcapng)"
expect_eq "$(cat "$W/pcap.rc")" 0 "curl exit status (pcap)"

expect_eq "$(pcap_count "$W/stdout.pcap")" "$N" "packets on stdout"
tcpdump --time-stamp-precision=nano -r "$W/stdout.pcap" -w "$W/udp.pcap" udp 2>/dev/null
want=$(pcap_count "$W/udp.pcap")
[ "$want" -gt 500 ] || fail "only $want UDP packets in the test capture"
expect_eq "$(wc -l <"$W/ng.fields")" "$want" "packets tshark read from the filtered pcapng stream"
tshark -r "$W/udp.pcap" -T fields -e frame.time_epoch -e frame.cap_len >"$W/udp.fields" 2>/dev/null
cut -f2- "$W/ng.fields" | cmp -s - "$W/udp.fields" || fail "the pcapng stream is not stdout's UDP packets"
expect_eq "$(cut -f1 "$W/ng.fields" | sort -u)" "replay" "interface of every packet"
pcap_dump "$W/ng.raw" | cmp -s - <(pcap_dump "$W/udp.pcap") || fail "stream bytes differ from stdout's"
grep -qi "truncated\|cut short\|appears to have been cut" "$W/tshark.err" && fail "tshark: $(cat "$W/tshark.err")"
expect_eq "$(wc -l <"$W/pcap.txt")" "$N" "packets tcpdump read from the pcap stream"
expect_eq "$(pcap_count "$W/frozen.pcap")" "$(cat "$W/frozen.expect")" "packets the frozen reader got"
pass "curl|tshark (pcapng, filter) = tcpdump -r stdout udp ($want), curl|tcpdump all $N, frozen reader: $(cat "$W/frozen.expect") + counted drops"

# SERVE_ALLOW governs /stream: 127.0.0.1 outside it gets 403, counted.
port=$(free_port); mport=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
    SERVE_ALLOW=192.0.2.0/24 bg refusing "$PCKTR" >/dev/null
col=$BG_PID
wait_log refusing "collecting on"
expect_eq "$(curl -s -o "$W/403.txt" -w '%{http_code}' "http://127.0.0.1:$mport/stream")" 403 "outside SERVE_ALLOW"
grep -q "127.0.0.1:[0-9]* may not read the stream (SERVE_ALLOW)" "$W/403.txt" || fail "403 body: $(cat "$W/403.txt")"
curl -sf "http://127.0.0.1:$mport/status" >"$W/status.json" || fail "no /status"
python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["reader_access"]
sys.exit(0 if a["refused"]["address"] == 1 and a["admitted"] == 0 else 1)' "$W/status.json" ||
    fail "refusal not counted: $(cat "$W/status.json")"
wait_log refusing "refused reader 127.0.0.1:[0-9]+ on GET /stream"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
pass "an address outside SERVE_ALLOW gets 403, counted and logged"

# SERVE_MAX_READERS counts /stream readers: the third of two gets 503; one leaving makes room.
port=$(free_port); mport=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
    SERVE_MAX_READERS=2 bg limited "$PCKTR" >/dev/null
col=$BG_PID
wait_log limited "collecting on"
URL=http://127.0.0.1:$mport/stream
expect_eq "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' -I "$URL?format=pcapng")" \
    "200 application/x-pcapng" "HEAD /stream"
joined() { grep -c 'of GET /stream joined' "$W/limited.log" || true; }
curl -sN "$URL" -o /dev/null & PIDS+=("$!"); r1=$!
curl -sN "$URL" -o /dev/null & PIDS+=("$!")
for ((i = 0; i < 100; i++)); do [ "$(joined)" = 2 ] && break; sleep 0.05; done
expect_eq "$(joined)" 2 "readers admitted"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" 503 "a third reader with SERVE_MAX_READERS=2"
# A reader that leaves an idle stream (nothing to write, so no write fails) is seen to leave.
kill "$r1"; wait "$r1" 2>/dev/null || true
wait_log limited "reader 127.0.0.1:[0-9]+ of GET /stream left" 3
curl -sN "$URL" -o /dev/null & PIDS+=("$!")
for ((i = 0; i < 100; i++)); do [ "$(joined)" = 3 ] && break; sleep 0.05; done
expect_eq "$(joined)" 3 "a reader admitted after one left"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
pass "SERVE_MAX_READERS counts /stream readers (503 past it, room again when one leaves); HEAD"
