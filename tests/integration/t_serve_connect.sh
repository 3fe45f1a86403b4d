# A collector that is only a hub (OUTPUT=none: nothing on stdout) sends the stream out to a
# PCAP-over-IP listener (SERVE_CONNECT) that starts late: it redials with backoff, logs the
# failure once, connects when the listener is up, and the listener gets every packet after.
source "$(dirname "$0")/lib.sh"

N=1000
python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" $N 5
relay=$(free_port) http=$(free_port) l=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$relay METRICS_ADDRPORT=127.0.0.1:$http OUTPUT=none \
    SERVE_CONNECT="127.0.0.1:$l?format=pcapng" bg collector "$PCKTR" >"$W/stdout.out"
col=$BG_PID
wait_log collector "SERVE_CONNECT 127.0.0.1:$l: cannot connect to 127.0.0.1:$l: connection refused; retrying"
sleep 1.5 # a few more attempts, backing off
failures=$(curl -sf "http://127.0.0.1:$http/metrics" | sed -n 's/^packeteur_serve_connect_failures_total //p')
[ "$failures" -ge 2 ] || fail "connect failures counted: $failures"
[ "$failures" -le 6 ] || fail "no backoff: $failures attempts in about 2 s"
expect_eq "$(grep -c 'cannot connect' "$W/collector.log")" 1 "failure lines"
socat -u "TCP-LISTEN:$l,bind=127.0.0.1,reuseaddr" "OPEN:$W/got.pcapng,creat,trunc" 2>"$W/socat.log" &
PIDS+=($!); sc=$!
wait_log collector "SERVE_CONNECT 127.0.0.1:$l: connected to 127.0.0.1:$l after failures" 15
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$relay SOURCE_NAME=hub \
    "$PCKTR" 2>"$W/agent.log" || fail "agent exited $?"
wait_log collector 'source "hub" said goodbye'
curl -sf "http://127.0.0.1:$http/status" >"$W/status.json"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["output"]["format"] == "none", s["output"]
r = [r for r in s["readers"] if r["kind"] == "connect"]
assert len(r) == 1 and r[0]["format"] == "pcapng" and r[0]["packets"] == int(sys.argv[2]), r
' "$W/status.json" $N || fail "/status: $(cat "$W/status.json")"
sleep 0.3
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
wait_exit "$sc"
expect_eq "$(stat -c %s "$W/stdout.out")" 0 "bytes on stdout with OUTPUT=none"
diff <(pcap_dump "$W/in.pcap") <(pcap_dump "$W/got.pcapng") >/dev/null || fail "the listener's copy differs"
pass "OUTPUT=none hub; SERVE_CONNECT to a late listener: $failures failed attempts, then all $N packets (pcapng)"
