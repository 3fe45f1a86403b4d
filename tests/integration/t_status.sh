# /status: three agents are listed "up"; kill -9 of one turns it "stale" then "gone"; kill -TERM
# of another turns it "gone" at once (goodbye). End-to-end accounting for a known number of
# packets, read from the /status of the agent and of the collector.
source "$(dirname "$0")/lib.sh"

port=$(free_port); mcol=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    SOURCE_STALE_AFTER=1s SOURCE_GONE_AFTER=3s bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
declare -a agents udps mports
for n in 1 2 3; do
    udps[$n]=$(free_port); mports[$n]=$(free_port)
    MODE=capture FILTER="udp dst port ${udps[$n]}" SOURCE_NAME="src-$n" HEARTBEAT_INTERVAL=200ms \
        RELAY_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:${mports[$n]} \
        bg "agent$n" "$PCKTR"
    agents[$n]=$BG_PID
done
for n in 1 2 3; do wait_log collector "source \"src-$n\": host"; done

# state NAME: the state of source NAME in the collector's /status
state() {
    curl -sf "http://127.0.0.1:$mcol/status" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
print(" ".join(s["state"] for s in doc["sources"] if s["name"] == sys.argv[1]))' "$1"
}
# wait_state NAME STATE SECONDS
wait_state() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ "$(state "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    fail "source $1 is '$(state "$1")', not '$2', after $3 s"
}
for n in 1 2 3; do expect_eq "$(state "src-$n")" up "src-$n state"; done
curl -sf "http://127.0.0.1:$mcol/status" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
assert d["mode"] == "collect" and d["transport"] == os.environ["RELAY_TRANSPORT"], d
assert d["sources_by_state"] == {"up": 3, "stale": 0, "gone": 0}, d["sources_by_state"]
for s in d["sources"]:
    for k in ("id", "host", "device", "link_type", "snaplen", "filter", "peer", "agent_version",
              "first_seen", "last_seen", "packets", "bytes", "lost_messages", "agent"):
        assert k in s, (k, s)
    assert s["device"] == "lo" and s["link_type"] == 1 and s["peer"], s
    assert s["filter"].startswith("(udp dst port "), s["filter"]
' || fail "/status document"

# Accounting: 400 packets to src-3, then compare both sides.
# The agent's report rides its heartbeat (200 ms); on a loaded machine it may take a few, so the
# check is retried for up to 10 s, and its last failure is what the test reports.
udp_burst "${udps[3]}" 400
accounting() {
curl -sf "http://127.0.0.1:${mports[3]}/status" >"$W/agent3.json" || fail "agent /status"
curl -sf "http://127.0.0.1:$mcol/status" >"$W/collector.json" || fail "collector /status"
python3 - "$W/agent3.json" "$W/collector.json" <<'PY'
import json, sys
agent = json.load(open(sys.argv[1]))
col = json.load(open(sys.argv[2]))
assert agent["mode"] == "capture" and agent["relay"]["connected"] is True, agent
cap = agent["capture"]
src = next(s for s in col["sources"] if s["name"] == "src-3")
print("agent:", cap, "\ncollector:", {k: src[k] for k in ("packets", "written", "linktype_drops", "lost_packets")})
assert cap["captured"] == 400, cap
# agent side: captured = relayed + relay drops + queued
assert cap["captured"] == cap["relayed"] + cap["relay_drops"] + cap["queued"], cap
# collector side: relayed = received + lost in transit; received = written + link-type drops
assert cap["relayed"] == src["packets"] + src["lost_packets"], (cap, src)
assert src["packets"] == src["written"] + src["linktype_drops"], src
assert src["written"] == 400, src
# and the agent's own report reached the collector
assert src["agent"]["captured"] == 400 and src["agent"]["relayed"] == 400, src["agent"]
PY
}
for ((i = 0; i < 50; i++)); do accounting >"$W/accounting.txt" 2>&1 && break; sleep 0.2; done
accounting || fail "end-to-end accounting"

kill -9 "${agents[1]}"
wait_state src-1 stale 3
wait_state src-1 gone 5
kill -TERM "${agents[2]}"
wait_state src-2 gone 1 # goodbye: at once, not after SOURCE_GONE_AFTER
expect_eq "$(state src-3)" up "src-3 untouched"
grep -q 'source "src-1" is stale' "$W/collector.log" || fail "no log line for stale"
grep -q 'source "src-1" is gone' "$W/collector.log" || fail "no log line for gone"
expect_eq "$(grep -c 'source "src-1" is stale' "$W/collector.log")" 1 "stale logged once"

kill -TERM "${agents[3]}"
wait_exit "${agents[3]}"; expect_eq "$EXIT_CODE" 0 "agent 3 exit code"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
pass "states up/stale/gone as documented; end-to-end accounting holds"
