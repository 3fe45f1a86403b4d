# The zmq collector's worst-case memory with the defaults (docs/SECURITY.md: COLLECT_MAX_PEERS x
# (RCVHWM + 2) x ZMQ_MAXMSGSIZE + the output queue + the rest), proved with hostile peers while
# the stdout reader is stalled, so that nothing the peers send is taken off libzmq's queues:
#  1. valid batches fill the output queue (16 MiB) and the stalled pipe: intake stops;
#  2. 5 pyzmq senders of valid 16 MiB batches, 8 each (this took the collector to 5 GiB);
#  3. 60 raw ZMTP peers, each sending 10 messages of the largest size libzmq takes, then stalling;
#  4. 20 raw peers that declare that largest message, send all of it but one byte, and stall;
#  5. (before 3) 3 raw peers that send a multipart message that never ends (libzmq 4.3.4 does
#     not bound it: the collector's guard closes them, counted as malformed);
#     with 3 to 5 more peers than COLLECT_MAX_PEERS (64) try to connect.
# Peak RSS (VmHWM) must stay under the bound in docs/SECURITY.md; the peers past the limit
# displace unproven ones or are refused, counted; the collector lives and stops on SIGTERM.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
BOUND_MIB=420 # docs/SECURITY.md, "Memory a peer can make the collector hold"
MAXMSG=$((2 * 384 * 1024 + 64)) # ZMQ_MAXMSGSIZE with the default COLLECT_MAX_MESSAGE
sanitizer_memory_bound

port=$(free_port); mport=$(free_port)
stalled_collector # the reader holds the pipe open and never reads
status() { curl -s --max-time 5 "http://127.0.0.1:$mport/status"; }
field() { status | "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
hwm_mib() { awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$col/status"; }

attack() { # NAME ARGS...: starts zmq_hostile.py, waits until its peers have sent what they can
    local name=$1; shift
    bg "$name" "$PY" "$TESTS_DIR/zmq_hostile.py" "$port" "$@"
    HOSTILE+=("$BG_PID")
    local out="$W/$name.log" i
    for ((i = 0; i < 600; i++)); do grep -q '^ready' "$out" 2>/dev/null && break; sleep 0.1; done
    grep "^ready" "$out" || fail "$name: the hostile peers did not get going"
}

HOSTILE=()
attack fill valid 1 60 $((384 * 1024 - 1024))
for ((i = 0; i < 100; i++)); do [ "$(field 'd["output"]["blocked"]')" = True ] && break; sleep 0.1; done
expect_eq "$(field 'd["output"]["blocked"]')" True "the stalled reader stops intake"
attack big16 valid 5 8 $((16 * 1024 * 1024))
attack multipart multipart 3 100 700000
attack flood flood 60 10 "$MAXMSG"
attack half half 20 "$MAXMSG"
sleep 2 # what is in flight settles in the collector
peak=$(hwm_mib)
refused=$(field 'd["security"]["refused"].get("peer_limit", 0)')
accepted=$(field 'd["security"]["connections"]["accepted"]')
echo "peak RSS ${peak} MiB (bound ${BOUND_MIB} MiB); refused peer_limit=$refused accepted=$accepted"
[ "$peak" -lt "$BOUND_MIB" ] || fail "peak RSS ${peak} MiB over the bound of ${BOUND_MIB} MiB"
# Past the limit a new peer displaces the oldest that has delivered nothing valid (all of the
# hostile ones: the reader is stalled), or is refused when every slot holds a proven one.
displaced=$(field 'd["security"]["connections"]["timed_out_first_message"]')
echo "displaced (no first message) $displaced"
[ $((refused + displaced)) -gt 0 ] || fail "no peer refused or displaced past COLLECT_MAX_PEERS"
dropped=$(field 'd["messages"]["peers_dropped"]')
expect_eq "$dropped" 3 "peers closed by the guard (the multipart ones, no other)"
[ "$refused" -eq 0 ] || grep -q 'COLLECT_MAX_PEERS connections are open' "$W/collector.log" ||
    fail "the refusal is logged"
[ "$(grep -c 'COLLECT_MAX_PEERS connections are open' "$W/collector.log")" -le 2 ] ||
    fail "refusals from one address are logged once"
kill -0 "$col" || fail "the collector died"
pass "hostile peers with a stalled reader: peak ${peak} MiB < ${BOUND_MIB} MiB, $refused refused, $displaced displaced"
# The hostile peers go and the reader comes back: the peer limit is free again (every refused
# connection's DISCONNECTED was matched), and a new agent gets in.
kill -9 "${HOSTILE[@]}"
cat "$W/stall" >/dev/null &
PIDS+=("$!")
"$PY" - "$port" "$mport" "$TESTS_DIR" <<'PY' || fail "a new agent after the attack"
import json, sys, time, urllib.request
sys.path.insert(0, sys.argv[3])
import pktr_wire as w
z = w.Zmq("tcp://127.0.0.1:%s" % sys.argv[1])
for i in range(600):
    z.send(w.hello(77, i, "after"))
    s = json.load(urllib.request.urlopen("http://127.0.0.1:%s/status" % sys.argv[2], timeout=5))
    if any(x["name"] == "after" for x in s["sources"]):
        break
    time.sleep(0.1)
z.close()
assert any(x["name"] == "after" for x in s["sources"]), "the new agent was not let in"
PY
pass "after the attack a new agent is let in"
kill -TERM "$col"
wait_exit "$col" 20
pass "the collector stops on SIGTERM (exit $EXIT_CODE)"
