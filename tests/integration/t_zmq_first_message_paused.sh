# The zmq collector's first-message deadline (5 s) runs only while intake is on: with the stdout
# reader stalled (output queue full, intake paused) an idle connection is not reset, however
# long the pause, since nothing could be delivered through no fault of the peer; once the reader
# is back, the same idle connection is reset within the deadline and counted.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
port=$(free_port); mport=$(free_port)
mkfifo "$W/stall"
exec 7<>"$W/stall" # the reader: holds the pipe open, never reads
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
    bg collector "$PCKTR" >"$W/stall"
wait_log collector "collecting on"
field() { curl -s --max-time 5 "http://127.0.0.1:$mport/status" |
    "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# valid batches fill the output queue and the pipe: intake stops
bg fill "$PY" "$TESTS_DIR/zmq_hostile.py" "$port" valid 1 60 $((384 * 1024 - 1024))
for ((i = 0; i < 100; i++)); do [ "$(field 'd["output"]["blocked"]')" = True ] && break; sleep 0.1; done
expect_eq "$(field 'd["output"]["blocked"]')" True "the stalled reader stops intake"
bg idle "$PY" -c "
import socket, sys, time
s = socket.socket(); s.bind(('127.8.1.1', 0)); s.connect(('127.0.0.1', $port))
print('ready', file=sys.stderr, flush=True); time.sleep(600)"
wait_log idle '^ready'
sleep 7 # longer than the deadline, all of it paused
expect_eq "$(field 'd["output"]["blocked"]')" True "intake still paused"
expect_eq "$(field 'd["security"]["connections"]["timed_out_first_message"]')" 0 \
    "no connection reset while intake is paused"
cat "$W/stall" >/dev/null &
PIDS+=("$!")
for ((i = 0; i < 150; i++)); do
    t=$(field 'd["security"]["connections"]["timed_out_first_message"]')
    [ "$t" -ge 1 ] && break
    sleep 0.1
done
expect_eq "$t" 1 "the idle connection reset once intake is back (the fill peer is proven)"
pass "first-message deadline: paused with intake, then the idle connection is reset"
