# LOG_FORMAT=json holds for configuration errors too: each bad variable (with LOG_FORMAT=json)
# exits 2 with exactly one line on stderr, one JSON object that names the variable (field
# "variable", event config_invalid) and says what is accepted. A bad LOG_FORMAT itself is
# reported as the plain text line, since the format asked for is unknown.
source "$(dirname "$0")/lib.sh"

"$PCKTR" keygen >"$W/k" 2>/dev/null && chmod 600 "$W/k"
printf 'not-a-key\n' >"$W/allowed"

# check VARIABLE ENV...: LOG_FORMAT=json pcktr with ENV exits 2 with one JSON line naming VARIABLE.
check() {
    local var=$1 rc=0; shift
    env LOG_FORMAT=json "$@" timeout 10 "$PCKTR" >"$W/stdout" 2>"$W/stderr" || rc=$?
    [ "$rc" = 2 ] || fail "$*: exit $rc, expected 2: $(cat "$W/stderr")"
    [ ! -s "$W/stdout" ] || fail "$*: wrote to stdout"
    python3 - "$W/stderr" "$var" <<'PY' || fail "$*: not one JSON line naming $var: $(cat "$W/stderr")"
import json, sys
lines = open(sys.argv[1], "rb").read().decode("utf-8").splitlines()
assert len(lines) == 1, lines
r = json.loads(lines[0])
var = sys.argv[2]
assert r["level"] == "error" and r["module"] == "main" and r["event"] == "config_invalid", r
assert r.get("variable", "") == var and var in r["message"] and "accepted" in r["message"], r
assert {"time", "message"} <= set(r), r
PY
}

check MODE MODE=sniff
check SNAPLEN SNAPLEN=abc
check SNAPLEN SNAPLEN=0
check PROMISC PROMISC=sometimes
check BUFFER_SIZE BUFFER_SIZE=lots
check LOG_LEVEL LOG_LEVEL=loud
check HEARTBEAT_INTERVAL HEARTBEAT_INTERVAL=forever
check RELAY_ENDPOINT RELAY_ENDPOINT=collector:7386
check COLLECT_ENDPOINT MODE=collect 'COLLECT_ENDPOINT=tcp://[::1:7386'
check RELAY_TRANSPORT RELAY_TRANSPORT=udp
check METRICS_ADDRPORT METRICS_ADDRPORT=9108
check DEVICE DEVICE=eth0 READ_FILE=x.pcap
check READ_FILE MODE=collect READ_FILE=x.pcap
check OUTPUT MODE=collect OUTPUT=
check SOURCE_GONE_AFTER SOURCE_GONE_AFTER=1s SOURCE_STALE_AFTER=5s
check COLLECT_ALLOW MODE=collect COLLECT_ALLOW=10.0.0.0/33
check COLLECT_CURVE_SECRETKEY MODE=collect COLLECT_CURVE_SECRETKEY=abc
check COLLECT_CURVE_ALLOWED MODE=collect COLLECT_CURVE_SECRETKEY="$W/k" COLLECT_CURVE_ALLOWED="$W/allowed"
check RELAY_CURVE_SERVERKEY RELAY_CURVE_SERVERKEY=collector-key
check RUN_AS RUN_AS=no-such-user-here
rc=0; env LOG_FORMAT=json "$PCKTR" --frobnicate 2>"$W/stderr" || rc=$?
expect_eq "$rc" 2 "unknown argument exit code"
python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read()); assert "--frobnicate" in r["message"], r' \
    "$W/stderr" || fail "unknown argument with LOG_FORMAT=json: $(cat "$W/stderr")"

# A bad LOG_FORMAT is said in text: one line, not JSON.
rc=0; env LOG_FORMAT=yaml "$PCKTR" >/dev/null 2>"$W/stderr" || rc=$?
expect_eq "$rc" 2 "LOG_FORMAT=yaml exit code"
expect_eq "$(cat "$W/stderr")" 'pcktr: LOG_FORMAT="yaml" is invalid; accepted: text|json' "LOG_FORMAT=yaml message"
pass "LOG_FORMAT=json: every configuration error is one JSON line naming its variable"
