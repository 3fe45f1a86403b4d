# Who may read, and how many: a bad endpoint filter or format is a configuration error (exit 2,
# naming the variable and quoting libpcap); a reader outside SERVE_ALLOW is refused (closed at
# once, nothing sent, counted, logged); SERVE_MAX_READERS readers at once, the next refused and
# counted; 500 readers connecting and leaving leave no descriptor, memory or reader behind.
source "$(dirname "$0")/lib.sh"

# Bad values: exit 2, one line naming the variable.
for v in 'SERVE_ENDPOINT=tcp://127.0.0.1:1?filter=udp%20portt%2053' \
         'SERVE_ENDPOINT=tcp://127.0.0.1:1?format=pcapx' 'SERVE_ENDPOINT=tcp://127.0.0.1:1?filt=udp' \
         'SERVE_CONNECT=127.0.0.1:1?filter=%zz' 'SERVE_ALLOW=10.0.0.0/33' 'SERVE_MAX_READERS=0'; do
    rc=0
    env MODE=collect "$v" "$PCKTR" >/dev/null 2>"$W/bad.log" || rc=$?
    expect_eq "$rc" 2 "exit code for $v"
    grep -q "${v%%=*}" "$W/bad.log" || fail "$v: the error does not name the variable: $(cat "$W/bad.log")"
done
env MODE=collect 'SERVE_ENDPOINT=tcp://127.0.0.1:1?filter=udp%20portt%2053' "$PCKTR" \
    >/dev/null 2>"$W/bad.log" || true
grep -q 'SERVE_ENDPOINT is invalid: entry "tcp://127.0.0.1:1?filter=udp%20portt%2053": filter "udp portt 53": .*syntax error' "$W/bad.log" ||
    fail "libpcap's message for a bad filter: $(cat "$W/bad.log")"

# Refused by address: loopback is not in SERVE_ALLOW.
relay=$(free_port) http=$(free_port) p=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$relay METRICS_ADDRPORT=127.0.0.1:$http OUTPUT=none \
    SERVE_ENDPOINT=tcp://127.0.0.1:$p SERVE_ALLOW=192.0.2.0/24 bg refusing "$PCKTR"
wait_log refusing "serving the stream"
timeout 5 nc 127.0.0.1 "$p" </dev/null >"$W/refused.out" || fail "nc was not closed at once"
expect_eq "$(stat -c %s "$W/refused.out")" 0 "bytes sent to a refused reader"
wait_log refusing "refused reader 127.0.0.1:[0-9]+ on tcp://127.0.0.1:$p: its address is not in SERVE_ALLOW"
curl -sf "http://127.0.0.1:$http/metrics" | grep -qx 'packeteur_readers_refused_total{reason="address"} 1' ||
    fail "refusal not counted"
kill -TERM "$BG_PID"; wait_exit "$BG_PID"; expect_eq "$EXIT_CODE" 0 "exit code"

# The reader limit, then 500 readers connecting and leaving.
relay=$(free_port) http=$(free_port) p=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$relay METRICS_ADDRPORT=127.0.0.1:$http OUTPUT=none \
    SERVE_ENDPOINT=tcp://127.0.0.1:$p SERVE_MAX_READERS=4 bg collector "$PCKTR"
col=$BG_PID
wait_log collector "serving the stream"
access() {
    curl -sf "http://127.0.0.1:$http/status" | python3 -c '
import json, sys
a = json.load(sys.stdin)["reader_access"]
print(a["connected"], a["admitted"], a["left"], a["refused"]["limit"], a["refused"]["address"])'
}
holders=()
for i in 1 2 3 4; do nc 127.0.0.1 "$p" </dev/null >/dev/null & holders+=($!); PIDS+=($!); done
for ((i = 0; i < 100; i++)); do [ "$(access | cut -d' ' -f1)" = 4 ] && break; sleep 0.05; done
timeout 5 nc 127.0.0.1 "$p" </dev/null >"$W/over.out" || fail "the reader over the limit was not closed"
expect_eq "$(access)" "4 4 0 1 0" "at the limit: connected admitted left refused(limit, address)"
wait_log collector "refused reader .*: SERVE_MAX_READERS readers are connected"
kill "${holders[@]}"
for ((i = 0; i < 100; i++)); do [ "$(access | cut -d' ' -f1)" = 0 ] && break; sleep 0.05; done
fds_before=$(ls "/proc/$col/fd" | wc -l)
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$col/status")
for ((b = 0; b < 10; b++)); do
    for ((i = 0; i < 50; i++)); do nc -z 127.0.0.1 "$p" & done
    wait $(jobs -p | grep -vxF "$col") 2>/dev/null || true
done
for ((i = 0; i < 200; i++)); do [ "$(access | cut -d' ' -f1)" = 0 ] && break; sleep 0.05; done
read -r connected admitted left limit address <<<"$(access)"
expect_eq "$connected" 0 "readers connected after they all left"
expect_eq $((admitted - 4 + limit - 1)) 500 "500 readers: admitted + refused at the limit"
expect_eq "$left" "$admitted" "every admitted reader left"
kill -0 "$col" || fail "the collector died"
expect_eq "$(ls "/proc/$col/fd" | wc -l)" "$fds_before" "descriptors after 500 readers"
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$col/status")
[ $((rss_after - rss_before)) -lt 4096 ] || fail "RSS grew from $rss_before to $rss_after KiB"
joined=$(grep -c 'joined on' "$W/collector.log")
[ "$joined" -le 30 ] || fail "$joined 'joined' lines: not rate-limited"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "exit code"
pass "bad values exit 2; refused by address; limit 4 refuses the 5th; 500 readers came and went ($admitted admitted, $limit at the limit), fds $fds_before, RSS +$((rss_after - rss_before)) KiB"
