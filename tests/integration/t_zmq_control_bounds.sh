# zmq's return path is bounded like its data socket (docs/CONTROL.md, "The return path"): with
# COLLECT_MAX_PEERS=3, four raw TCP connections to the control port take three subscriber slots
# and the fourth is reset at accept and counted (/status relay.control_refused); a connection
# that never finishes its handshake is dropped after 5 s; and once the slots are free again an
# agent subscribes and applies a filter set through the API.
source "$(dirname "$0")/lib.sh"

printf 'bounds-token\n' >"$W/token"
chmod 600 "$W/token"
port=$(free_port); mport=$(free_port)
MODE=collect COLLECT_ENDPOINT="tcp://127.0.0.1:$port" METRICS_ADDRPORT=127.0.0.1:$mport \
    OUTPUT=none COLLECT_MAX_PEERS=3 CONTROL_TOKEN_FILE="$W/token" bg collector "$PCKTR"
col=$BG_PID
wait_log collector "collecting on"
relay() {
    curl -sf "http://127.0.0.1:$mport/status" | python3 -c "import json,sys; print(json.load(sys.stdin)['relay']['$1'])"
}
python3 - "$((port + 1))" "$W" <<'PY' &
import socket, sys, time
port, w = int(sys.argv[1]), sys.argv[2]
held = []
for i in range(4):
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    held.append(s)
    time.sleep(0.2)
# The fourth is reset at once; the three others when their handshake time runs out (5 s).
t0 = time.time()
ends = []
for s in held:
    s.settimeout(10)
    try:
        b = s.recv(100)
        while b:  # libzmq's greeting, then nothing: the end comes with the handshake timeout
            b = s.recv(100)
    except OSError:  # reset, or timed out
        pass
    ends.append(round(time.time() - t0, 1))
open(w + "/ends", "w").write(" ".join(map(str, ends)) + "\n")
PY
holder=$!
for i in $(seq 40); do [ "$(relay control_refused 2>/dev/null)" = 1 ] && break; sleep 0.05; done
expect_eq "$(relay control_refused)" 1 "control connections refused past COLLECT_MAX_PEERS"
expect_eq "$(relay control_subscribers)" 3 "control subscribers held"
wait "$holder" || fail "the holder of the control connections"
read -r -a ends <"$W/ends"
python3 -c "import sys; e = list(map(float, sys.argv[1:])); assert all(3 <= x <= 9 for x in e[:3]), e" \
    "${ends[@]}" || fail "idle control connections not dropped after the handshake time: ${ends[*]}"
for i in $(seq 40); do [ "$(relay control_subscribers)" = 0 ] && break; sleep 0.05; done
expect_eq "$(relay control_subscribers)" 0 "subscribers after the idle ones left"

MODE=capture DEVICE=lo FILTER="udp dst port 9" SOURCE_NAME=bounded RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    HEARTBEAT_INTERVAL=500ms bg agent "$PCKTR"
wait_log collector 'source "bounded": host'
curl -sf -X PUT -H "Authorization: Bearer bounds-token" -d '{"filter": "udp"}' \
    "http://127.0.0.1:$mport/control/sources/bounded" >/dev/null || fail "PUT"
wait_log agent "control: generation [0-9]+ applied" 5
expect_eq "$(relay control_subscribers)" 1 "the agent's subscription"
pass "control subscribers bounded by COLLECT_MAX_PEERS, idle ones dropped, an agent gets in after"
