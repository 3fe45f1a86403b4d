# The collector's control API (docs/CONTROL.md) with curl against a real MODE=collect pcktr:
# off (404) without CONTROL_TOKEN_FILE; 401 without a token and with a wrong one; 403 from an
# address outside CONTROL_ALLOW, token or not; 400 for a filter that does not compile and for
# an unknown field; PUT, GET, DELETE; a restart with CONTROL_STATE keeps the entries and their
# generations; the counters of /metrics and /status match what was asked; a bad state or token
# file is exit 2 naming the setting.
source "$(dirname "$0")/lib.sh"

printf 's3cret-token\n' >"$W/token"
chmod 600 "$W/token"
state=$W/state.json
AUTH=(-H "Authorization: Bearer s3cret-token")

# start NAME ENV...: a collector with its HTTP server on a free port; sets $U (its base URL).
start() {
    local name=$1 m; shift
    m=$(free_port)
    bg "$name" env MODE=collect COLLECT_ENDPOINT="tcp://127.0.0.1:$(free_port)" OUTPUT=none \
        METRICS_ADDRPORT=127.0.0.1:$m "$@" "$PCKTR"
    COL=$BG_PID
    U=http://127.0.0.1:$m
    wait_log "$name" "collecting on"
}
stop() { kill -TERM "$COL"; wait_exit "$COL"; expect_eq "$EXIT_CODE" 0 "collector exit"; }
# code METHOD PATH [CURL ARGS...]: the status code; the body goes to $W/body.
code() {
    local m=$1 p=$2; shift 2
    curl -s -o "$W/body" -w '%{http_code}' -X "$m" "$@" "$U$p"
}

# Off: every /control path is 404.
start off
expect_eq "$(code GET /control)" 404 "GET /control without CONTROL_TOKEN_FILE"
expect_eq "$(code PUT /control/all "${AUTH[@]}" -d '{}')" 404 "PUT without CONTROL_TOKEN_FILE"
stop
pass "off without CONTROL_TOKEN_FILE"

start on CONTROL_TOKEN_FILE="$W/token" CONTROL_STATE="$state"
expect_eq "$(code GET /control)" 401 "no token"
curl -s -D "$W/headers" -o /dev/null "$U/control"
grep -qi '^www-authenticate: Bearer' "$W/headers" || fail "401 without WWW-Authenticate: Bearer"
expect_eq "$(code GET /control -H 'Authorization: Bearer wrong')" 401 "a wrong token"
expect_eq "$(code PUT /control/sources/web -H 'Authorization: Bearer s3cret-tokenX' -d '{}')" 401 \
    "a longer token"
expect_eq "$(code PUT /control/sources/web "${AUTH[@]}" -d '{"filter":"tcp port"}')" 400 "bad filter"
grep -q '"error":"filter' "$W/body" || fail "the 400 names the filter: $(cat "$W/body")"
expect_eq "$(code PUT /control/sources/web "${AUTH[@]}" -d '{"colour":"red"}')" 400 "unknown field"
grep -q 'colour' "$W/body" || fail "the 400 names the field: $(cat "$W/body")"
expect_eq "$(code PUT /control/sources/web "${AUTH[@]}" -d '{"paused":"yes"}')" 400 "wrong type"
# What the state file, the JSON answers and the log lines would carry must be UTF-8 text without
# control characters: bytes that are not UTF-8 in "by" or a name, a newline in a filter.
printf '{"filter":"udp","by":"\xff\xfe"}' >"$W/not-utf8"
expect_eq "$(code PUT /control/sources/web "${AUTH[@]}" --data-binary @"$W/not-utf8")" 400 "by not UTF-8"
expect_eq "$(code PUT /control/sources/web%FF "${AUTH[@]}" -d '{}')" 400 "a name not UTF-8"
expect_eq "$(code PUT /control/sources/web "${AUTH[@]}" -d '{"filter":"udp\nor tcp"}')" 400 \
    "a filter with a newline"
expect_eq "$(code PUT /control/sources/web%20one "${AUTH[@]}" \
    -d '{"filter":"tcp port 80","paused":true,"sample":"1/10","rate_limit":"1M","by":"alice"}')" \
    200 "PUT a source"
gen_web=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["generation"])' "$W/body")
expect_eq "$(code PUT /control/all "${AUTH[@]}" -d '{"sample":4}')" 200 "PUT all"
expect_eq "$(code PUT /control/sources/gone "${AUTH[@]}" -d '{"paused":true}')" 200 "PUT gone"
expect_eq "$(code DELETE /control/sources/gone "${AUTH[@]}")" 200 "DELETE"
expect_eq "$(code DELETE /control/sources/gone "${AUTH[@]}")" 404 "DELETE again"
expect_eq "$(code POST /control/all "${AUTH[@]}" -d '{}')" 405 "POST"
expect_eq "$(code PUT /control/sources/a%zz "${AUTH[@]}" -d '{}')" 400 "a bad escape in the name"
head -c 20000 /dev/zero | tr '\0' ' ' >"$W/big"
expect_eq "$(code PUT /control/all "${AUTH[@]}" --data-binary @"$W/big")" 413 "a body over 16 KiB"
[ "$(stat -c %a "$state")" = 600 ] || fail "CONTROL_STATE is not mode 600"
expect_eq "$(code GET /control "${AUTH[@]}")" 200 "GET"
cp "$W/body" "$W/before.json"
grep -q 'alice' "$W/on.log" || fail "the change is logged with its by"
python3 - "$W/before.json" "$gen_web" <<'PY' || fail "GET /control after the PUTs"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["enabled"] is True, d
web = d["sources"]["web one"]
assert web["filter"] == "tcp port 80" and web["paused"] is True, web
assert web["sample"] == "1/10" and web["rate_limit"] == 1 << 20, web
assert web["generation"] == int(sys.argv[2]) and "(alice)" in web["changed_by"], web
assert "gone" not in d["sources"], d
assert d["all"]["sample"] == "1/4" and d["all"]["filter"] is None, d
assert d["generation"] > web["generation"], d
acts = [(c["action"], c["name"]) for c in d["log"]]
assert acts == [("set", "web one"), ("set", None), ("set", "gone"), ("clear", "gone")], acts
PY
curl -sf "$U/metrics" >"$W/metrics.txt"
curl -sf "$U/status" >"$W/status.json"
for r in ok:5 unauthorized:4 invalid:8 not_found:1 forbidden:0 full:0; do
    grep -qx "packeteur_control_requests_total{result=\"${r%%:*}\"} ${r#*:}" "$W/metrics.txt" ||
        fail "metric $r: $(grep control_requests "$W/metrics.txt")"
done
python3 - "$W/status.json" <<'PY' || fail "/status control"
import json, sys
c = json.load(open(sys.argv[1]))["control"]
assert c["enabled"] is True and c["generation"] > 0, c
assert c["requests"]["ok"] == 5 and c["requests"]["unauthorized"] == 4, c
PY
stop
pass "401, 400, PUT, GET, DELETE, counters"

# A restart with CONTROL_STATE: the same entries under the same generations.
start again CONTROL_TOKEN_FILE="$W/token" CONTROL_STATE="$state"
expect_eq "$(code GET /control "${AUTH[@]}")" 200 "GET after the restart"
python3 - "$W/before.json" "$W/body" <<'PY' || fail "the state after a restart"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["sources"] == b["sources"] and a["all"] == b["all"], (a, b)
assert a["generation"] == b["generation"], (a["generation"], b["generation"])
PY
expect_eq "$(code PUT /control/all "${AUTH[@]}" -d '{}')" 200 "PUT after the restart"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["generation"] > int(sys.argv[2])' \
    "$W/body" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["generation"])' \
    "$W/before.json")" || fail "a new generation after the restart"
stop
pass "CONTROL_STATE across a restart"

# 403 from outside CONTROL_ALLOW, before the token is looked at.
start allow CONTROL_TOKEN_FILE="$W/token" CONTROL_ALLOW=10.0.0.0/8
expect_eq "$(code GET /control "${AUTH[@]}")" 403 "outside CONTROL_ALLOW, with the token"
expect_eq "$(code GET /control)" 403 "outside CONTROL_ALLOW, without a token"
curl -sf "$U/metrics" | grep -x 'packeteur_control_requests_total{result="forbidden"} 2' >/dev/null ||
    fail "forbidden counted"
[ "$(grep -c 'control_refused\|request(s) refused' "$W/allow.log")" -eq 1 ] ||
    fail "refusals: one line per interval"
stop
pass "403 outside CONTROL_ALLOW"

# Bad files at start: exit 2, one line naming the setting.
printf '{"version":1,' >"$W/bad.json"
rc=0; MODE=collect COLLECT_ENDPOINT="tcp://127.0.0.1:$(free_port)" OUTPUT=none \
    CONTROL_STATE="$W/bad.json" timeout 10 "$PCKTR" 2>"$W/bad.log" || rc=$?
expect_eq "$rc" 2 "a corrupt CONTROL_STATE"
grep -q 'CONTROL_STATE=' "$W/bad.log" || fail "the error names CONTROL_STATE: $(cat "$W/bad.log")"
: >"$W/empty"
rc=0; MODE=collect COLLECT_ENDPOINT="tcp://127.0.0.1:$(free_port)" OUTPUT=none \
    CONTROL_TOKEN_FILE="$W/empty" timeout 10 "$PCKTR" 2>"$W/bad.log" || rc=$?
expect_eq "$rc" 2 "an empty CONTROL_TOKEN_FILE"
grep -q 'CONTROL_TOKEN_FILE=' "$W/bad.log" || fail "the error names CONTROL_TOKEN_FILE"
pass "bad state and token files"

# Every change is logged (its audit trail), also past the log's rate limit of 20 per 10 s for
# other events; refusals stay summarised.
start audit CONTROL_TOKEN_FILE="$W/token"
for i in $(seq 30); do
    expect_eq "$(code PUT "/control/sources/n$i" "${AUTH[@]}" -d "{\"by\":\"op $i\"}")" 200 "PUT n$i"
done
for i in $(seq 30); do code GET /control -H 'Authorization: Bearer wrong' >/dev/null; done
stop
expect_eq "$(grep -c 'source "n[0-9]*" set by .*(op [0-9]*)' "$W/audit.log")" 30 "changes logged"
[ "$(grep -c 'request(s) refused' "$W/audit.log")" -le 2 ] || fail "refusals not summarised"
pass "every change logged, refusals summarised"
