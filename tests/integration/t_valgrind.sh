# valgrind sees inside libuv, libzmq, libpcap and h2o, where ASan does not: the start-up
# failure paths and the clean shutdowns of both modes must give no memory error and no
# definite leak. (Two paths have fixes of their own and stay out of here: zmq_open failing with
# COLLECT_ALLOW or CURVE set, and the METRICS_ADDRPORT IPv6 fallback on a host without IPv6.)
source "$(dirname "$0")/lib.sh"

[ "${PK_SANITIZED:-OFF}" = ON ] && { pass "skipped: valgrind and ASan do not mix"; exit 0; }
command -v valgrind >/dev/null || fail "valgrind is not installed (.ci/bootstrap installs it)"
VG=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-fds=no)

# vg NAME EXPECTED_EXIT VAR=VALUE...: runs pcktr under valgrind with that environment.
vg() {
    local name=$1 want=$2 rc=0; shift 2
    env "$@" "${VG[@]}" "$PCKTR" >/dev/null 2>"$W/$name.log" </dev/null || rc=$?
    [ "$rc" = 99 ] && fail "$name: valgrind found errors: $(grep -m5 '==[0-9]*== ' "$W/$name.log")"
    expect_eq "$rc" "$want" "$name: exit status"
}

python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 200
busy=$(free_port) # a port in use, for the endpoint and the metrics server
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(120)' "$busy" &
PIDS+=("$!")
for ((i = 0; i < 100; i++)); do ss -Htln "( sport = :$busy )" | grep -q . && break; sleep 0.05; done

for t in zmq tcp-raw; do
    vg "collector-endpoint-in-use-$t" 1 MODE=collect RELAY_TRANSPORT=$t COLLECT_ENDPOINT=tcp://127.0.0.1:$busy
    vg "agent-bad-device-$t" 1 MODE=capture RELAY_TRANSPORT=$t DEVICE=nosuchdev0 RELAY_ENDPOINT=tcp://127.0.0.1:$(free_port)
done
vg collector-metrics-in-use 1 MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) METRICS_ADDRPORT=127.0.0.1:$busy
vg agent-metrics-in-use 1 MODE=capture RELAY_ENDPOINT=tcp://127.0.0.1:$(free_port) METRICS_ADDRPORT=127.0.0.1:$busy
vg collector-output-unwritable 1 MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) OUTPUT="$W/no/dir/out.pcap"
vg collector-run-as-unknown 2 MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) RUN_AS=no-such-user-pk
vg agent-run-as-unknown 2 MODE=capture RELAY_ENDPOINT=tcp://127.0.0.1:$(free_port) RUN_AS=no-such-user-pk
vg agent-read-file-bad-filter 2 MODE=capture READ_FILE="$W/in.pcap" FILTER="tcp port" RELAY_ENDPOINT=tcp://127.0.0.1:$(free_port)
vg agent-read-file-missing 1 MODE=capture READ_FILE="$W/missing.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$(free_port)
echo "not a capture" >"$W/junk.pcap"
vg agent-read-file-junk 1 MODE=capture READ_FILE="$W/junk.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$(free_port)
vg agent-bad-filter 2 MODE=capture FILTER="tcp port" RELAY_ENDPOINT=tcp://127.0.0.1:$(free_port)
# The control plane's: a state file that is no state, an empty token file, and (zmq) the control
# port (COLLECT_ENDPOINT's + 1) in use, which fails after the data socket and its handles are up.
printf 'token\n' >"$W/token"; chmod 600 "$W/token"; : >"$W/empty-token"; echo '{"version": 9' >"$W/bad-state"
vg collector-control-bad-state 2 MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) CONTROL_STATE="$W/bad-state"
vg collector-control-empty-token 2 MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) CONTROL_TOKEN_FILE="$W/empty-token"
vg collector-control-port-in-use 1 MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$((busy - 1)) CONTROL_TOKEN_FILE="$W/token"
pass "start-up failures of both modes: no memory error, no definite leak"

# Clean SIGTERM shutdowns, without traffic and with it, both modes under valgrind at once; with
# traffic, the control plane is on and the agent applies a filter sent on its return path (zmq,
# then tcp-raw: run 2).
for run in 0 1 2; do
    traffic=$((run > 0)); export RELAY_TRANSPORT=zmq
    [ $run = 2 ] && export RELAY_TRANSPORT=tcp-raw
    port=$(free_port); udp=$(free_port); mport=$(free_port)
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
        CONTROL_TOKEN_FILE="$([ $traffic = 1 ] && echo "$W/token")" \
        OUTPUT="$W/out$run.pcap" bg "collector-sigterm-$run" "${VG[@]}" "$PCKTR"
    col=$BG_PID
    wait_log "collector-sigterm-$run" "collecting on" 30
    MODE=capture FILTER="udp dst port $udp" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
        METRICS_ADDRPORT=127.0.0.1:$(free_port) bg "agent-sigterm-$run" "${VG[@]}" "$PCKTR"
    ag=$BG_PID
    wait_log "agent-sigterm-$run" "connected to collector" 30
    if [ $traffic = 1 ]; then
        wait_log "collector-sigterm-$run" "source .*: host" 30
        curl -sf -X PUT -H "Authorization: Bearer token" -d '{"filter": "udp"}' \
            "http://127.0.0.1:$mport/control/all" >/dev/null || fail "PUT /control/all under valgrind"
        wait_log "agent-sigterm-$run" "control: generation [0-9]+ applied" 30
        udp_burst "$udp" 50
        curl -sf "http://127.0.0.1:$mport/status" >/dev/null || fail "no /status under valgrind"
        MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port SOURCE_NAME=file \
            "${VG[@]}" "$PCKTR" 2>"$W/agent-read-file.log" || fail "READ_FILE under valgrind: exit $?"
    fi
    sleep 0.5
    kill -TERM "$ag"; wait_exit "$ag" 30
    [ "$EXIT_CODE" = 99 ] && fail "agent SIGTERM (run $run): $(grep -m5 '==[0-9]*== ' "$W/agent-sigterm-$run.log")"
    expect_eq "$EXIT_CODE" 0 "agent exit status after SIGTERM (run $run)"
    kill -TERM "$col"; wait_exit "$col" 30
    [ "$EXIT_CODE" = 99 ] && fail "collector SIGTERM (run $run): $(grep -m5 '==[0-9]*== ' "$W/collector-sigterm-$run.log")"
    expect_eq "$EXIT_CODE" 0 "collector exit status after SIGTERM (run $run)"
done
expect_eq "$(pcap_count "$W/out1.pcap")" 250 "packets written under valgrind (zmq)"
expect_eq "$(pcap_count "$W/out2.pcap")" 250 "packets written under valgrind (tcp-raw)"
# zmq: the collector ends first, with an idle agent connected, so that the guard is asleep and
# its poll of a dup of the connection's fd is open (zmq_guard_idle.c): closed before the loop
# ends, the dup closed in the handle's close callback, nothing leaked.
export RELAY_TRANSPORT=zmq
port=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port OUTPUT="$W/out3.pcap" \
    bg collector-sigterm-guard "${VG[@]}" "$PCKTR"
col=$BG_PID
wait_log collector-sigterm-guard "collecting on" 30
MODE=capture FILTER="udp dst port $(free_port)" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg agent-guard "$PCKTR"
ag=$BG_PID
wait_log collector-sigterm-guard "source .*: host" 30
dup=
for ((i = 0; i < 100; i++)); do # one socket open twice: the guard's dup
    dup=$(find "/proc/$col/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | sort | uniq -d)
    [ -n "$dup" ] && break
    sleep 0.1
done
[ -n "$dup" ] || fail "the guard did not sleep (no dup of the agent's connection) in 10 s"
kill -TERM "$col"; wait_exit "$col" 30
[ "$EXIT_CODE" = 99 ] && fail "collector SIGTERM, guard asleep: $(grep -m5 '==[0-9]*== ' "$W/collector-sigterm-guard.log")"
expect_eq "$EXIT_CODE" 0 "collector exit status after SIGTERM, guard asleep"
kill -TERM "$ag"; wait_exit "$ag" 30
pass "SIGTERM shutdowns of both modes, idle and with traffic (live, READ_FILE, /status, a control change on zmq and tcp-raw; zmq with the guard asleep): valgrind-clean"
