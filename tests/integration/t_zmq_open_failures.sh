# The zmq collector's start-up failure paths under valgrind (ASan cannot see inside libuv): the
# endpoint is in use while COLLECT_ALLOW or CURVE keys are set, so the transport has its ZAP
# handler watched by libuv when zmq_open fails. The collector must exit 1 with a line naming
# COLLECT_ENDPOINT and the cause, and valgrind must report no error (a transport freed while a
# handle in it was closing was an invalid read in uv_run). The sanitizer build runs the same
# paths without valgrind.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
port=$(free_port)
# Something else holds the port.
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("ready", flush=True); time.sleep(60)' \
    "$port" >"$W/holder.out" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do grep -q ready "$W/holder.out" && break; sleep 0.05; done
"$PCKTR" keygen >"$W/collector.key" 2>/dev/null && chmod 600 "$W/collector.key"

VG=()
if [ "${PK_SANITIZED:-OFF}" != "ON" ]; then
    command -v valgrind >/dev/null || fail "valgrind is not installed (.ci/bootstrap)"
    VG=(valgrind -q --error-exitcode=99 --leak-check=no --track-fds=no)
fi

try() { # NAME ENV...
    local name=$1; shift
    local rc=0
    env "$@" MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port OUTPUT="$W/$name.pcap" \
        timeout 60 "${VG[@]}" "$PCKTR" >/dev/null 2>"$W/$name.log" || rc=$?
    [ "$rc" -ne 99 ] || { cat "$W/$name.log"; fail "$name: valgrind found errors"; }
    expect_eq "$rc" 1 "$name: exit status"
    grep -qE "COLLECT_ENDPOINT=\"tcp://127.0.0.1:$port\": cannot listen on tcp://127.0.0.1:$port: Address already in use" \
        "$W/$name.log" || { cat "$W/$name.log"; fail "$name: no clear message"; }
    ! grep -qE "Invalid (read|write)|uninitialised|AddressSanitizer" "$W/$name.log" ||
        fail "$name: memory error reported"
    pass "$name: endpoint in use -> exit 1, one clear line, no memory error"
}

try plain
try collect_allow COLLECT_ALLOW=127.0.0.1
try curve COLLECT_CURVE_SECRETKEY="$W/collector.key"
try curve_allow COLLECT_CURVE_SECRETKEY="$W/collector.key" COLLECT_ALLOW=127.0.0.0/8
