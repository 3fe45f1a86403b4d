# Shared helpers for the integration tests: each test sources this file, starts real pcktr
# processes on loopback with random ports, and asserts with real tools (tcpdump, tshark).
# Every process started through `bg` is killed on exit; waits are bounded.
set -euo pipefail

PCKTR=${PCKTR:?set PCKTR to the pcktr binary}
TESTS_DIR=${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
WORK_ROOT=${WORK_ROOT:-/tmp/pcktr-tests}
mkdir -p "$WORK_ROOT"
W=$(mktemp -d "$WORK_ROOT/$(basename "$0" .sh).XXXXXX")
PIDS=()
export METRICS_ADDRPORT= # several processes share the host; the HTTP server is tested on its own
# Scenarios that hold for every transport run once per transport (tests/CMakeLists.txt).
export RELAY_TRANSPORT=${PK_TEST_TRANSPORT:-zmq}

cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ $rc -ne 0 ]; then
        echo "--- logs of the failed test ($W)"
        for f in "$W"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }; done
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT

# netns_pair NSA NSC VA VC A C: two network namespaces joined by the veth pair VA (in NSA, address
# A/24) and VC (in NSC, address C/24), loopback up in both; the pair is left down, for the test to
# shape or tune first. The EXIT trap then also kills the test's processes and deletes both
# namespaces (which takes their veth pairs with them), so that no run leaves any behind.
netns_pair() {
    NETNS_PAIR=("$1" "$2")
    trap netns_cleanup EXIT
    ip netns add "$1"
    ip netns add "$2"
    ip link add "$3" type veth peer name "$4"
    ip link set "$3" netns "$1"
    ip link set "$4" netns "$2"
    ip -n "$1" addr add "$5/24" dev "$3"
    ip -n "$2" addr add "$6/24" dev "$4"
    ip -n "$1" link set lo up
    ip -n "$2" link set lo up
}
netns_cleanup() {
    local rc=$? p ns
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for ns in "${NETNS_PAIR[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    (exit $rc)
    cleanup
}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok ($RELAY_TRANSPORT): $*"; }

# bg LOGNAME CMD...: runs CMD in the background, stderr to $W/LOGNAME.log; sets $BG_PID.
bg() {
    local name=$1; shift
    "$@" 2>"$W/$name.log" &
    BG_PID=$!
    PIDS+=("$BG_PID")
}

# A TCP/UDP port nobody listens on.
free_port() {
    local p
    while :; do
        p=$(shuf -i 20000-60000 -n 1)
        ss -Htanu "( sport = :$p )" | grep . >/dev/null || { echo "$p"; return; }
    done
}

# wait_log LOGNAME PATTERN [SECONDS]: waits until the log has a line matching PATTERN.
wait_log() {
    local file="$W/$1.log" pattern=$2 limit=${3:-10} i
    for ((i = 0; i < limit * 20; i++)); do
        grep -qE -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "no line matching '$pattern' in $1.log within ${limit}s"
}

# wait_exit PID [SECONDS]: waits (bounded) for PID to end; its exit code goes to EXIT_CODE.
wait_exit() {
    local pid=$1 limit=${2:-10} i
    for ((i = 0; i < limit * 20; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            EXIT_CODE=0
            wait "$pid" || EXIT_CODE=$?
            return
        fi
        sleep 0.05
    done
    fail "process $pid still running after ${limit}s"
}

# udp_burst PORT COUNT [ADDR]: sends COUNT one-byte datagrams.
udp_burst() {
    local port=$1 count=$2 addr=${3:-127.0.0.1} i
    for ((i = 0; i < count; i++)); do echo x >"/dev/udp/$addr/$port"; done
}

# pcap_count FILE [FILTER]: packets in FILE (matching FILTER), as tcpdump reads it.
pcap_count() {
    local file=$1; shift
    tcpdump -nn -r "$file" "$@" 2>/dev/null | wc -l
}

# pcap_dump FILE: every packet with nanosecond timestamp, lengths and bytes, for comparisons.
pcap_dump() {
    tcpdump --time-stamp-precision=nano -tt -nn -x -r "$1" 2>/dev/null
}

# wait_lines LOGNAME PATTERN N [SECONDS]: waits until the log has N lines matching PATTERN.
wait_lines() {
    local file="$W/$1.log" limit=${4:-5} i
    for ((i = 0; i < limit * 20; i++)); do
        [ "$(grep -cE -- "$2" "$file" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.05
    done
    fail "fewer than $3 lines matching '$2' in $1.log within ${limit}s"
}

# paced_copy OUT IN CHUNK: copies IN to OUT, CHUNK bytes every 10 ms (a slow reader of a FIFO).
paced_copy() {
    python3 -c '
import sys, time
out = open(sys.argv[1], "wb")
src = open(sys.argv[2], "rb", buffering=0)
while True:
    b = src.read(int(sys.argv[3]))
    if not b: break
    out.write(b); time.sleep(0.01)
' "$@"
}

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

# wait_started PID [SECONDS]: waits until PID runs pcktr's main, which blocks SIGHUP, SIGINT and
# SIGTERM first thing (SigBlk bits 0, 1, 14) until it catches them (SigCgt): a signal sent
# before that (while bash forks or ld.so loads the libraries) would kill any program. 1 on
# time-out.
wait_started() {
    local pid=$1 limit=${2:-5} i key val name
    for ((i = 0; i < limit * 200; i++)); do
        name=
        while read -r key val; do
            case $key in
            Name:) name=$val ;; # bash, until the fork has exec'd pcktr
            SigBlk: | SigCgt:) [ "$name" = pcktr ] && (((0x$val & 0x4003) == 0x4003)) && return 0 ;;
            esac
        done <"/proc/$pid/status" 2>/dev/null || true
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.005
    done
    return 1
}

# Memory tests: under ASan (PK_SANITIZED=ON) a small quarantine keeps frees real, and the
# test's BOUND_MIB grows by half for the shadow memory and redzones that come on top.
sanitizer_memory_bound() {
    [ "${PK_SANITIZED:-OFF}" = "ON" ] || return 0
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
    BOUND_MIB=$((BOUND_MIB * 3 / 2))
}

# stalled_collector: a collector on $port (HTTP on $mport) whose stdout is a FIFO that fd 7
# holds open and never reads, so that its output queue fills; sets col.
stalled_collector() {
    mkfifo "$W/stall"
    exec 7<>"$W/stall"
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
        bg collector "$PCKTR" >"$W/stall"
    col=$BG_PID
    wait_log collector "collecting on"
}
