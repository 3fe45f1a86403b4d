# The reader of stdout going away (tcpdump -c 10) ends the collector cleanly with exit 0.
source "$(dirname "$0")/lib.sh"

port=$(free_port); udp=$(free_port)
( MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port "$PCKTR" 2>"$W/collector.log"
  echo $? >"$W/collector.rc" ) | tcpdump -c 10 -nn -r - >"$W/tcpdump.txt" 2>/dev/null &
pipeline=$!
PIDS+=("$pipeline")
MODE=capture FILTER="udp dst port $udp" RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent "$PCKTR"
wait_log agent "connected to collector"
udp_burst "$udp" 50
sleep 0.3
udp_burst "$udp" 50 # the collector notices the closed pipe on its next write
wait_exit "$pipeline" 10
for ((i = 0; i < 100; i++)); do [ -s "$W/collector.rc" ] && break; sleep 0.05; done
expect_eq "$(cat "$W/collector.rc")" 0 "collector exit code after the reader left"
grep -q "the reader of stdout went away" "$W/collector.log" || fail "no log line for EPIPE"
expect_eq "$(grep -c "UDP" "$W/tcpdump.txt")" 10 "tcpdump -c 10 lines"
pass "reader exit ends the collector with status 0"
