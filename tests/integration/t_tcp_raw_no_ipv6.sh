# A host without IPv6 (an LD_PRELOAD shim makes socket(AF_INET6) fail with EAFNOSUPPORT):
# "every address" (COLLECT_ENDPOINT=tcp://*:P, METRICS_ADDRPORT=:P) falls back to 0.0.0.0 with
# a fresh handle. It used to abort on the first loop turn (a libuv assertion: the fallback
# re-initialised the "::" handle while it was closing). A collector and an agent both serve
# /metrics and relay; the collector's start-up and shutdown also run under valgrind (plain
# build), with no invalid access, and so do its failure paths (a port already taken).
source "$(dirname "$0")/lib.sh"

SHIM=${PK_NO_IPV6_SHIM:?set PK_NO_IPV6_SHIM to the no_ipv6 shim (tests/CMakeLists.txt)}
export RELAY_TRANSPORT=tcp-raw
# ASan wants to be first in the library list; the shim does not mind being second.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
port=$(free_port); udp=$(free_port); mcol=$(free_port); mag=$(free_port); K=50
LD_PRELOAD=$SHIM MODE=collect COLLECT_ENDPOINT="tcp://*:$port" METRICS_ADDRPORT=":$mcol" \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "collecting on"
LD_PRELOAD=$SHIM MODE=capture FILTER="udp dst port $udp" SOURCE_NAME=v4only \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=":$mag" bg agent "$PCKTR"
ag=$BG_PID
wait_log collector 'source "v4only": host'
for p in $mcol $mag; do
    curl -sf -m 3 "http://127.0.0.1:$p/metrics" >"$W/metrics.$p" || fail "/metrics on :$p"
done
grep -q '^packeteur_up\|^packeteur_' "$W/metrics.$mag" || fail "agent metrics empty"
ss -Htln "( sport = :$mcol )" | grep -q '0.0.0.0:' || fail "not listening on 0.0.0.0:$mcol"
udp_burst "$udp" "$K"
sleep 0.5
kill -TERM "$ag"; wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector 'source "v4only" said goodbye'
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $udp")" "$K" "packets"

if [ "${PK_SANITIZED:-OFF}" != ON ]; then # valgrind cannot run a sanitizer build
    port=$(free_port); mcol=$(free_port)
    LD_PRELOAD=$SHIM MODE=collect COLLECT_ENDPOINT="tcp://*:$port" METRICS_ADDRPORT=":$mcol" \
        bg valgrind valgrind --error-exitcode=99 --errors-for-leak-kinds=none "$PCKTR" >/dev/null
    vg=$BG_PID
    wait_log valgrind "collecting on" 60
    curl -sf -m 10 "http://127.0.0.1:$mcol/metrics" >/dev/null || fail "/metrics under valgrind"
    kill -TERM "$vg"; wait_exit "$vg" 60
    expect_eq "$EXIT_CODE" 0 "collector under valgrind exit code"
    grep -q "ERROR SUMMARY: 0 errors" "$W/valgrind.log" || fail "valgrind: $(grep -A5 'Invalid' "$W/valgrind.log")"
    # The failure paths: the relay port, then the metrics port, already taken (exit 1).
    python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$port" &
    PIDS+=($!)
    for i in $(seq 50); do ss -Htln "( sport = :$port )" | grep -q . && break; sleep 0.1; done
    for ep in "tcp://*:$port :$mcol" "tcp://*:$(free_port) :$port"; do
        set -- $ep
        rc=0
        LD_PRELOAD=$SHIM MODE=collect COLLECT_ENDPOINT="$1" METRICS_ADDRPORT="$2" valgrind \
            --error-exitcode=99 --errors-for-leak-kinds=none "$PCKTR" >/dev/null 2>"$W/vgfail.log" || rc=$?
        expect_eq "$rc" 1 "exit code with $1 / $2 taken"
        grep -q "cannot listen on" "$W/vgfail.log" || fail "no listen error: $(tail -5 "$W/vgfail.log")"
        grep -q "ERROR SUMMARY: 0 errors" "$W/vgfail.log" || fail "valgrind: $(cat "$W/vgfail.log")"
    done
fi
pass "no IPv6: collector and agent listen on 0.0.0.0, serve /metrics and relay; valgrind clean"
