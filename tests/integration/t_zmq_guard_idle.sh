# The zmq guard (transports/zmq/zmq_guard.c) checks every connection every 20 ms for a peer
# that makes libzmq buffer without bound; while nothing arrives it sleeps (zmq_guard_idle.c):
# each connection polled for readability, a backstop check a second. Here: (1) an idle
# collector with an agent connected wakes a few times a second at most (before: 50+ epoll_wait
# a second); (2) a peer proven by a valid message that idles until the guard sleeps and then
# sends a multipart message that never ends is still cut off, the collector's RSS under
# t_zmq_multipart's bound; (3) an agent's packets all arrive after each idle period.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
BOUND_MIB=120 # as t_zmq_multipart: one connection's bound + what 20 ms of the guard let through
MAX_WAKEUPS=75 # epoll_wait calls in 5 s, all threads (before: 280 to 300). Left: the collector's
# STATE_CHECK_MS (4 a second) and, per message of the agent (one a second), our poll, ZMQ_FD,
# one check and libzmq's I/O thread: about 9 a second; < 15 a second
[ "${PK_SANITIZED:-OFF}" = "ON" ] && BOUND_MIB=240
port=$(free_port); mport=$(free_port); udp=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
    OUTPUT="$W/out.pcap" bg collector "$PCKTR"
col=$BG_PID
wait_log collector "collecting on"
MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=idler RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg agent "$PCKTR"
agent=$BG_PID
wait_log collector 'source "idler": host'

# packets_of NAME: the packets of source NAME the collector took (/status).
packets_of() {
    "$PY" -c 'import json, sys, urllib.request
s = json.load(urllib.request.urlopen("http://127.0.0.1:%s/status" % sys.argv[1], timeout=5))
print(sum(x["packets"] for x in s["sources"] if x["name"] == sys.argv[2]))' "$mport" "$1"
}
wait_packets() { # NAME N: until the collector took N packets of NAME (10 s at most)
    local i got
    for ((i = 0; i < 100; i++)); do
        got=$(packets_of "$1"); [ "$got" -ge "$2" ] && return 0; sleep 0.1
    done
    fail "$1: $got packets of $2"
}
# wakeups: epoll_wait calls of the collector (every thread) in 5 s, and its CPU ticks meanwhile.
wakeups() {
    local t0 t1
    t0=$(awk '{print $14 + $15}' "/proc/$col/stat")
    timeout -s INT 5 strace -f -c -e trace=epoll_wait -p "$col" -o "$W/strace.txt" 2>/dev/null || true
    t1=$(awk '{print $14 + $15}' "/proc/$col/stat")
    WAKE=$(awk '$NF == "epoll_wait" {print $4}' "$W/strace.txt")
    WAKE=${WAKE:-0}
    echo "idle: $WAKE epoll_wait in 5 s, $((t1 - t0)) CPU ticks"
}

# dups: sockets the collector has open twice (the guard asleep holds a dup of each connection).
dups() { find "/proc/$col/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | sort | uniq -d | wc -l; }

udp_burst "$udp" 100
wait_packets idler 100
sleep 1 # a check finds nothing taken: the guard sleeps
wakeups
[ "$WAKE" -lt "$MAX_WAKEUPS" ] || fail "idle collector: $WAKE epoll_wait in 5 s (< $MAX_WAKEUPS)"
for ((i = 0; i < 20; i++)); do [ "$(dups)" = 1 ] && break; sleep 0.1; done # between messages
expect_eq "$(dups)" 1 "the guard asleep: one dup (the agent's connection)"
udp_burst "$udp" 200 # (3) after an idle period
wait_packets idler 300

# (2) A proven peer that idles (the guard sleeps again), then floods MORE frames.
"$PY" - "$port" "$TESTS_DIR" "$W/go" >"$W/sleeper.out" 2>"$W/sleeper.log" <<'PY' &
import os, socket, struct, sys, time
sys.path.insert(0, sys.argv[2])
import pktr_wire as w
GREETING = (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") +
            b"\x00" + b"\x00" * 31)
body = b"\x05READY" + bytes([11]) + b"Socket-Type" + struct.pack(">I", 4) + b"PUSH"
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5,
                             source_address=("127.0.2.1", 0))
hello = w.hello(7, 0, "sleeper")
s.sendall(GREETING + b"\x04" + bytes([len(body)]) + body)
time.sleep(0.3)  # libzmq 4.3.4 took the message sent with the handshake for a protocol error
s.sendall(b"\x00" + bytes([len(hello)]) + hello)  # a short frame
while not os.path.exists(sys.argv[3]):  # proven and idle until the test has seen the guard sleep
    time.sleep(0.1)
one = (b"\x03" + struct.pack(">Q", 700000) + b"m" * 700000) * 100
s.settimeout(0.2)
sent, end, view = 0, time.time() + 8, memoryview(one * 3)
while view and time.time() < end:
    try:
        n = s.send(view[:1 << 20]); view = view[n:]; sent += n
    except (socket.timeout, BlockingIOError):
        pass
    except OSError:
        print("reset after %d bytes" % sent, flush=True)
        break
else:
    print("not reset: %d bytes sent" % sent, flush=True)
PY
sleeper=$!
PIDS+=("$sleeper")
wait_log collector 'source "sleeper": host'
sleep 2 # the sleeper proven and quiet, the agent quiet: the guard sleeps
wakeups
[ "$WAKE" -lt "$MAX_WAKEUPS" ] || fail "idle collector, two peers: $WAKE epoll_wait in 5 s"
IDLE_WAKE=$WAKE
touch "$W/go" # now the endless multipart message
wait "$sleeper" || true
grep -q '^reset after' "$W/sleeper.out" || fail "the sleeper was not cut off: $(cat "$W/sleeper.out")"
peak=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$col/status")
echo "sleeper: $(cat "$W/sleeper.out"); peak RSS ${peak} MiB (bound ${BOUND_MIB} MiB)"
[ "$peak" -lt "$BOUND_MIB" ] || fail "peak RSS ${peak} MiB over ${BOUND_MIB} MiB"
dropped=$(curl -fsS "http://127.0.0.1:$mport/status" |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["messages"]["peers_dropped"])')
expect_eq "$dropped" 1 "peers dropped (the sleeper)"

sleep 2 # idle again
udp_burst "$udp" 200
wait_packets idler 500
kill -TERM "$agent"; wait_exit "$agent"; expect_eq "$EXIT_CODE" 0 "agent exit"
for ((i = 0; i < 50; i++)); do [ "$(dups)" = 0 ] && break; sleep 0.1; done
expect_eq "$(dups)" 0 "dups left once the agent is gone"
kill -TERM "$col"; wait_exit "$col" 10; expect_eq "$EXIT_CODE" 0 "collector exit"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" 500 "the agent's packets written"
# (4) Too few descriptors for the dups (64 must stay free): the guard keeps checking every 20 ms.
port=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port OUTPUT="$W/out2.pcap" \
    bg collector2 prlimit --nofile=80:80 "$PCKTR"
col=$BG_PID
wait_log collector2 "collecting on"
MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=cramped RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg agent2 "$PCKTR"
agent=$BG_PID
wait_log collector2 "guard: cannot poll the fds of the 1 idle connections \(too many open files\)"
wakeups
[ "$WAKE" -ge 200 ] || fail "no dups: the 20 ms checks must go on, $WAKE epoll_wait in 5 s"
kill -TERM "$agent"; wait_exit "$agent"
kill -TERM "$col"; wait_exit "$col" 10; expect_eq "$EXIT_CODE" 0 "collector exit (no dups)"
pass "idle guard: $IDLE_WAKE epoll_wait in 5 s idle; a proven peer's endless multipart cut off at ${peak} MiB; 500 of 500 packets; no dups: 20 ms checks"
