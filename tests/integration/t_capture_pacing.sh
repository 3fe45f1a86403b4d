# Capture pacing (src/agent/capture.c): at 100 kpps the agent reads its ring on a timer, so its
# main thread sleeps and wakes far less often than once per 1 ms block; back at 1 kpps it reads
# on each block again (low latency); and every datagram is accounted for either way.
source "$(dirname "$0")/lib.sh"

[ -x "${PK_SENDER:-}" ] || fail "PK_SENDER (bench/sender) is not set"
port=$(free_port); udp=$(free_port)
socat -u UDP-RECV:"$udp",bind=127.0.0.1 OPEN:/dev/null &
PIDS+=($!)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
MODE=capture DEVICE=lo FILTER="udp dst port $udp" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg agent "$PCKTR"
ag=$BG_PID
wait_log agent "connected to collector"
wait_log collector "source .*filter"

# wakes_per_s: the agent main thread's voluntary context switches (each a sleep in epoll_wait)
# over one second.
wakes_per_s() {
    local f=/proc/$ag/task/$ag/status a b
    a=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$f")
    sleep 1
    b=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$f")
    echo $((b - a))
}

# phase RATE NAME: sends at RATE for 3 s (sender's report in $W/NAME.json); WAKES gets the
# wake-ups of the second second.
phase() {
    "$PK_SENDER" 127.0.0.1 "$udp" 64 "$1" 3 >"$W/$2.json" &
    local sp=$!
    sleep 1
    WAKES=$(wakes_per_s)
    wait "$sp"
    sleep 0.5
}
phase 100000 fast; fast=$WAKES
phase 1000 slow; slow=$WAKES
echo "wake-ups per second: $fast at 100 kpps, $slow at 1 kpps"
# Unpaced, 100 kpps wakes the agent about once per block, ~1000/s (measured 925/s); paced,
# about once per pace of up to 16 ms plus its sends (~130-200/s).
[ "$fast" -lt 500 ] || fail "at 100 kpps the agent woke $fast times in a second (not paced)"
# At 1 kpps each 1 ms block holds a packet or so: a paced agent would wake at most ~60 times.
[ "$slow" -gt 300 ] || fail "at 1 kpps the agent woke only $slow times in a second (still paced)"

kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector "said goodbye"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

sent=$(python3 -c 'import json,sys; print(sum(json.load(open(f))["sent"] for f in sys.argv[1:]))' \
    "$W/fast.json" "$W/slow.json")
read -r captured relayed rdrops kdrops < <(sed -n \
    's/.*done: captured \([0-9]*\), relayed \([0-9]*\), relay drops \([0-9]*\), kernel drops \([0-9]*\),.*/\1 \2 \3 \4/p' \
    "$W/agent.log")
[ -n "$captured" ] || fail "no accounting line in the agent's log"
expect_eq $((captured + kdrops)) "$sent" "captured + kernel drops = datagrams sent"
expect_eq $((relayed + rdrops)) "$captured" "relayed + relay drops = captured"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" "$relayed" "datagrams in the output"
pass "capture pacing: $fast wake-ups/s at 100 kpps, $slow at 1 kpps; $sent sent, $captured captured ($kdrops kernel drops, $rdrops relay drops), $relayed written"
