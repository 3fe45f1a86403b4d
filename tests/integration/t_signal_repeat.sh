# One stop request delivered twice must not cost the flush: coreutils timeout signals the child
# and then its own process group, so `timeout 60 pcktr` gets SIGTERM twice, microseconds apart.
# A repeat within 1 s is the same request; a second request after that still exits at once,
# without flushing (status 1), as the README says.
source "$(dirname "$0")/lib.sh"

# A lingering agent: nothing listens on the collector's port, so queued batches wait LINGER.
lingering_agent() {
    local port=$1
    MODE=capture DEVICE=lo FILTER="udp port $port" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
        LINGER=4s bg a "$PCKTR"
    wait_log a "capturing device lo"
    python3 -c "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
for i in range(50): s.sendto(b'x'*100,('127.0.0.1',int(sys.argv[1])))" "$port"
    sleep 0.3
}

# 1. Two SIGTERMs 20 ms apart: one request; the agent lingers and exits 0.
lingering_agent "$(free_port)"; pid=$BG_PID
t0=$(date +%s%N)
kill -TERM "$pid"; sleep 0.02; kill -TERM "$pid"
wait_exit "$pid" 15
expect_eq "$EXIT_CODE" 0 "exit status after a SIGTERM delivered twice"
grep -q "exiting without flushing" "$W/a.log" && fail "a doubled SIGTERM cut the flush short"
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$elapsed_ms" -ge 3000 ] || fail "the agent did not linger ($elapsed_ms ms): the test proves nothing"
pass "a SIGTERM delivered twice is one request: the agent lingered ${elapsed_ms} ms and exited 0"

# 2. A second SIGTERM 1.5 s later: the user gives up the flush; exit 1 at once.
lingering_agent "$(free_port)"; pid=$BG_PID
kill -TERM "$pid"; sleep 1.5; kill -TERM "$pid"
wait_exit "$pid" 2
expect_eq "$EXIT_CODE" 1 "exit status after a second SIGTERM 1.5 s later"
grep -q "SIGTERM while stopping: exiting without flushing" "$W/a.log" ||
    fail "the second SIGTERM was not reported"
pass "a second SIGTERM after 1 s exits at once with status 1"

# 3. timeout(1) as users run it, on both modes: exit 0 every time.
for ((r = 0; r < 10; r++)); do
    rc=0
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) \
        timeout --preserve-status -s TERM 0.5 "$PCKTR" >/dev/null 2>"$W/c.log" || rc=$?
    expect_eq "$rc" 0 "collector under timeout, round $r: $(cat "$W/c.log")"
    rc=0
    MODE=capture DEVICE=lo FILTER="udp port 9" RELAY_ENDPOINT=tcp://127.0.0.1:$(free_port) \
        LINGER=100ms timeout --preserve-status -s TERM 0.5 "$PCKTR" 2>"$W/c.log" || rc=$?
    expect_eq "$rc" 0 "agent under timeout, round $r: $(cat "$W/c.log")"
done
pass "10 collectors and 10 agents stopped by timeout(1) exit 0"
