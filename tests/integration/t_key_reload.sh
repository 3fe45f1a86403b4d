# SIGHUP reloads COLLECT_CURVE_ALLOWED: an agent refused at first gets in once its key is added
# and the collector is signalled (no restart, the other source's stream goes on); a file that
# does not parse changes nothing; a key taken out is refused on the agent's next connection.
source "$(dirname "$0")/lib.sh"

[ "$RELAY_TRANSPORT" = zmq ] || { pass "CURVE keys exist on zmq only"; exit 0; }
for k in collector a b; do "$PCKTR" keygen >"$W/$k.key" 2>/dev/null; done
chmod 600 "$W"/*.key
pub() { sed -n 's/^public-key: //p' "$1"; }
echo "public-key: $(pub "$W/a.key")" >"$W/allowed"

port=$(free_port); mcol=$(free_port); ua=$(free_port); ub=$(free_port); N=100
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    COLLECT_CURVE_SECRETKEY="$W/collector.key" COLLECT_CURVE_ALLOWED="$W/allowed" \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "collecting on"
agent() { # NAME UDP_PORT
    MODE=capture FILTER="udp dst port $2" SOURCE_NAME="$1" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
        RELAY_CURVE_SERVERKEY="$(pub "$W/collector.key")" RELAY_CURVE_SECRETKEY="$W/$1.key" \
        HEARTBEAT_INTERVAL=200ms bg "$1" "$PCKTR"
}
agent a "$ua"; ag_a=$BG_PID
agent b "$ub"; ag_b=$BG_PID
wait_log collector 'source "a": host'
wait_log b "refused this agent's handshake"
status() { curl -sf "http://127.0.0.1:$mcol/status"; }
keys_in_force() { status | python3 -c 'import json,sys; print(json.load(sys.stdin)["security"]["allowed_keys"])'; }
expect_eq "$(keys_in_force)" 1 "keys before the reload"

echo "public-key: $(pub "$W/b.key")  # added later" >>"$W/allowed"
kill -HUP "$col"
wait_log collector 'reloaded: 2 keys \(were 1\)'
wait_log collector 'source "b": host' 10 # b retries every 2 s
expect_eq "$(keys_in_force)" 2 "keys after the reload"
udp_burst "$ua" "$N"; udp_burst "$ub" "$N"
sleep 0.5

echo "not a key" >>"$W/allowed"
kill -HUP "$col"
wait_log collector 'line 3 is not a CURVE public key.*the 2 keys in force stay'
expect_eq "$(keys_in_force)" 2 "keys after a bad file"
kill -0 "$col" || fail "the collector died of a bad file"

echo "public-key: $(pub "$W/a.key")" >"$W/allowed" # b taken out
kill -HUP "$col"
wait_log collector 'reloaded: 1 keys \(were 2\)'
udp_burst "$ub" 10 # still connected: delivered
sleep 0.5
kill -TERM "$ag_b"; wait_exit "$ag_b"
rm -f "$W/b.log"
agent b "$ub"; ag_b=$BG_PID
wait_log b "refused this agent's handshake"
# refused again, and logged again: the reload cleared the memory of logged refusals
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c "its CURVE key is not in COLLECT_CURVE_ALLOWED" "$W/collector.log")" = 2 ] && break
    sleep 0.1
done
expect_eq "$(grep -c "its CURVE key is not in COLLECT_CURVE_ALLOWED" "$W/collector.log")" 2 \
    "refusals of b logged (before it was added, after it was removed)"

kill -TERM "$ag_a" "$ag_b"; wait_exit "$ag_a"; wait_exit "$ag_b"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $ua")" "$N" "a's packets"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $ub")" $((N + 10)) "b's packets"
pass "SIGHUP: a key added lets its agent in, a bad file changes nothing, a key removed is refused"
