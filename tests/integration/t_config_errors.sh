# Every bad configuration exits 2 (1 for runtime conditions) with one line naming the culprit.
source "$(dirname "$0")/lib.sh"

# check EXPECTED_RC PATTERN ENV...: runs pcktr with ENV, checks exit code and its one stderr line.
check() {
    local want=$1 pattern=$2 rc=0; shift 2
    env "$@" timeout 10 "$PCKTR" >"$W/stdout" 2>"$W/stderr" || rc=$?
    [ "$rc" = "$want" ] || fail "$*: exit $rc, expected $want: $(cat "$W/stderr")"
    grep -qE -- "$pattern" "$W/stderr" || fail "$*: message '$(cat "$W/stderr")' lacks '$pattern'"
    [ ! -s "$W/stdout" ] || fail "$*: wrote to stdout"
}
errors() { grep -c . "$W/stderr"; }

check 2 'MODE="sniff" is invalid; accepted: capture\|collect' MODE=sniff
[ "$(errors)" = 1 ] || fail "more than one line for a config error"
check 2 'SNAPLEN="abc" is invalid; accepted: an integer from 1 to 262144' SNAPLEN=abc
check 2 'SNAPLEN="0"' SNAPLEN=0
check 2 'PROMISC="sometimes"' PROMISC=sometimes
check 2 'BUFFER_SIZE="lots"' BUFFER_SIZE=lots
check 2 'RELAY_ENDPOINT="collector:7386" is invalid \(must start with tcp://\)' RELAY_ENDPOINT=collector:7386
check 2 'RELAY_ENDPOINT="tcp://collector" is invalid \(missing :PORT\)' RELAY_ENDPOINT=tcp://collector
check 2 'COLLECT_ENDPOINT="tcp://\[::1:7386"' MODE=collect 'COLLECT_ENDPOINT=tcp://[::1:7386'
check 2 'RELAY_TRANSPORT="udp" is invalid; accepted: zmq\|tcp-raw' RELAY_TRANSPORT=udp
check 2 'METRICS_ADDRPORT="9108" is invalid' METRICS_ADDRPORT=9108
check 2 'DEVICE="eth0" and READ_FILE="x.pcap" are both set' DEVICE=eth0 READ_FILE=x.pcap
check 2 'READ_FILE="x.pcap" is set with MODE=collect' MODE=collect READ_FILE=x.pcap
check 2 'LOG_FORMAT="yaml"' LOG_FORMAT=yaml
# Security settings: keys, key files, allow-lists, addresses, users.
"$PCKTR" keygen >"$W/k" 2>/dev/null
printf 'public-key: s)<aR?2.BR>ro#oe*a?K&AS1r1CQo9]EesGNj{G+   # web-01\nnot-a-key\n' >"$W/allowed"
check 2 'COLLECT_ALLOW="10.0.0.0/33" is invalid \("10.0.0.0/33" is not an address or CIDR\)' \
    MODE=collect COLLECT_ALLOW=10.0.0.0/33
check 2 'COLLECT_ALLOW="10.0.0.0/8,bogus" is invalid' MODE=collect COLLECT_ALLOW=10.0.0.0/8,bogus
check 2 'COLLECT_CURVE_SECRETKEY="abc" is invalid; accepted: a CURVE key in Z85' \
    MODE=collect COLLECT_CURVE_SECRETKEY=abc
check 2 'COLLECT_CURVE_SECRETKEY: cannot open "/nonexistent/key"' \
    MODE=collect COLLECT_CURVE_SECRETKEY=/nonexistent/key
check 2 'COLLECT_CURVE_ALLOWED=".*/allowed": line 2 is not a CURVE public key' \
    MODE=collect COLLECT_CURVE_SECRETKEY="$W/k" COLLECT_CURVE_ALLOWED="$W/allowed"
check 2 'COLLECT_CURVE_ALLOWED=".*" is set without COLLECT_CURVE_SECRETKEY' \
    MODE=collect COLLECT_CURVE_ALLOWED="$W/allowed"
check 2 'COLLECT_CURVE_SECRETKEY is set but RELAY_TRANSPORT="tcp-raw" cannot encrypt' \
    MODE=collect RELAY_TRANSPORT=tcp-raw COLLECT_CURVE_SECRETKEY="$W/k"
check 2 'RELAY_CURVE_SECRETKEY is set without RELAY_CURVE_SERVERKEY' RELAY_CURVE_SECRETKEY="$W/k"
check 2 'RELAY_CURVE_SERVERKEY=".*" is invalid' RELAY_CURVE_SERVERKEY=collector-key
check 2 'RELAY_CURVE_PUBLICKEY=".*" is not the public key of RELAY_CURVE_SECRETKEY' \
    RELAY_CURVE_SERVERKEY="$W/k" RELAY_CURVE_SECRETKEY="$W/k" \
    'RELAY_CURVE_PUBLICKEY=s)<aR?2.BR>ro#oe*a?K&AS1r1CQo9]EesGNj{G+'
check 2 'RUN_AS="no-such-user-here" is invalid \(no such user' RUN_AS=no-such-user-here
rc=0; "$PCKTR" --frobnicate 2>"$W/stderr" || rc=$?
expect_eq "$rc" 2 "unknown argument exit code"
grep -q 'unknown argument "--frobnicate"' "$W/stderr" || fail "unknown argument message"

# A bad BPF filter: exit 2, quoting libpcap.
check 2 'FILTER="udp prot 53" is invalid: .*syntax error' DEVICE=lo 'FILTER=udp prot 53'
# A bad filter for a file replay, too.
python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 10
check 2 'FILTER="port 99999" is invalid: illegal port number 99999' READ_FILE="$W/in.pcap" 'FILTER=port 99999'
# Runtime conditions: exit 1 with a clear line.
check 1 'DEVICE="nosuchdev0": no such device' DEVICE=nosuchdev0
check 1 'READ_FILE=".*/missing.pcap": .*No such file' READ_FILE="$W/missing.pcap"
check 1 'RELAY_ENDPOINT="tcp://no-such-host.invalid:7386": cannot resolve' \
    RELAY_ENDPOINT=tcp://no-such-host.invalid:7386 DEVICE=lo
# Without CAP_NET_RAW (an unprivileged user): exit 1 naming the capability.
command -v setpriv >/dev/null || fail "setpriv is missing (util-linux; .ci/bootstrap installs it)"
cp "$PCKTR" "$W/pcktr-unpriv" && chmod 755 "$W" "$W/pcktr-unpriv"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    env DEVICE=lo METRICS_ADDRPORT= "$W/pcktr-unpriv" 2>"$W/stderr" || rc=$?
expect_eq "$rc" 1 "unprivileged capture exit code"
grep -q 'permission denied.*CAP_NET_RAW' "$W/stderr" || fail "no CAP_NET_RAW hint: $(cat "$W/stderr")"
# An endpoint in use: the second collector exits 1 saying so.
port=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port bg collector "$PCKTR" >/dev/null
wait_log collector "collecting on"
check 1 "COLLECT_ENDPOINT=\"tcp://127.0.0.1:$port\": cannot listen on .*Address already in use" \
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port
# A terminal on stdout is refused (binary pcap would garble it).
command -v script >/dev/null || fail "script is missing (bsdutils; .ci/bootstrap installs it)"
script -qec "env MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) METRICS_ADDRPORT= $PCKTR" \
    /dev/null >"$W/tty.txt" 2>&1 || true
grep -q 'stdout is a terminal' "$W/tty.txt" || fail "terminal not refused: $(cat "$W/tty.txt")"
pass "every bad configuration: right exit code and message"
