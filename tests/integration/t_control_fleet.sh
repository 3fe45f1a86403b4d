# The control plane end to end (docs/CONTROL.md), on each transport: three agents in their own
# network namespaces, each capturing its veth, and a fourth on lo with CONTROL=off, relay to one
# collector. Known traffic is sent in phases (each phase its own UDP source port), and the
# merged output is counted per host, port and phase:
#   a filter set on host-2 applies within a second, and from then on only matching packets come
#   from it while host-1 is unchanged; a widening attempt on host-3 (a central filter matching
#   only what its own FILTER excludes) sends nothing; an attempt to break out of the parentheses
#   is refused; a pause of host-1 sends nothing and is counted as paused, not lost; cleared, all
#   comes again; the entry for all sources pauses every agent but the CONTROL=off one; a wrong
#   token, no token and a foreign address are refused and counted; and after a collector restart
#   with CONTROL_STATE, a restarted agent gets the desired state back.
source "$(dirname "$0")/lib.sh"

K=40 # datagrams per host, port and phase
T=c$((RANDOM % 10000)) # names of its own: another run may be beside it
NS=(pk${T}n1 pk${T}n2 pk${T}n3)
NETNS_PAIR=("${NS[@]}") # netns_cleanup (lib.sh) deletes them, and their veth pairs, on exit
trap netns_cleanup EXIT
for i in 1 2 3; do
    n=${NS[$((i - 1))]}
    ip netns del "$n" 2>/dev/null || true
    ip netns add "$n"
    ip link add "pk${T}v${i}r" type veth peer name "pk${T}v$i"
    ip link set "pk${T}v$i" netns "$n"
    ip addr add "10.77.$i.1/24" dev "pk${T}v${i}r"
    ip link set "pk${T}v${i}r" up
    ip -n "$n" addr add "10.77.$i.2/24" dev "pk${T}v$i"
    ip -n "$n" link set "pk${T}v$i" up
    ip -n "$n" link set lo up
done

printf 'fleet-token\n' >"$W/token"
chmod 600 "$W/token"
AUTH=(-H "Authorization: Bearer fleet-token")
port=$(free_port); mport=$(free_port); lport=$(free_port)
U=http://127.0.0.1:$mport
start_collector() {
    MODE=collect COLLECT_ENDPOINT="tcp://*:$port" METRICS_ADDRPORT=":$mport" \
        CONTROL_TOKEN_FILE="$W/token" CONTROL_STATE="$W/state.json" OUTPUT_FORMAT=pcapng \
        bg "collector$1" "$PCKTR" >"$W/out$1.pcap"
    col=$BG_PID
    wait_log "collector$1" "collecting on"
}
declare -a agent
start_agent() { # N [ENV...]
    local i=$1; shift
    bg "agent$i" ip netns exec "${NS[$((i - 1))]}" env MODE=capture DEVICE="pk${T}v$i" PROMISC=false \
        SOURCE_NAME="host-$i" RELAY_ENDPOINT="tcp://10.77.$i.1:$port" HEARTBEAT_INTERVAL=500ms \
        "$@" "$PCKTR"
    agent[$i]=$BG_PID
}
start_collector 1
start_agent 1 FILTER=udp
start_agent 2 FILTER=udp
start_agent 3 FILTER="udp and not dst port 5002" # its own FILTER excludes port 5002
MODE=capture DEVICE=lo FILTER="udp dst port $lport" SOURCE_NAME=host-lo CONTROL=off \
    RELAY_ENDPOINT="tcp://127.0.0.1:$port" HEARTBEAT_INTERVAL=500ms bg agent4 "$PCKTR"
agent[4]=$BG_PID
for s in host-1 host-2 host-3 host-lo; do wait_log collector1 "source \"$s\": host" 15; done

# send PHASE: K datagrams from source port PHASE to ports 53, 5001 and 5002 of every host, and
# K to the lo agent's port; paced, so that no socket or capture buffer is what loses them.
send() {
    python3 - "$1" "$K" "$lport" <<'PY'
import socket, sys, time
sport, k, lport = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def sock(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, sport))
    return s
dests = [(sock("10.77.%d.1" % i), ("10.77.%d.2" % i, p)) for i in (1, 2, 3) for p in (53, 5001, 5002)]
dests.append((sock("127.0.0.1"), ("127.0.0.1", lport)))
for n in range(k):
    for s, d in dests:
        s.sendto(b"phase %d packet %d" % (sport, n), d)
    time.sleep(0.002)
PY
    sleep 0.7 # the agents' batches leave within a wake-up; a heartbeat carries the stats
}

# json URL EXPR: evaluates EXPR on the JSON document (as `d`) at URL.
json() {
    curl -sf "${AUTH[@]}" "$1" | python3 -c "import json, sys; d = json.load(sys.stdin); print($2)"
}
# control NAME FIELD: a field of the control object of the up source called NAME in /status.
control() {
    json "$U/status" "[s['control']['$2'] for s in d['sources'] if s['name'] == '$1' and s['state'] == 'up'][0]"
}
# put PATH BODY / del PATH: a change through the API, which must answer 200.
put() {
    expect_eq "$(curl -s -o "$W/body" -w '%{http_code}' -X PUT "${AUTH[@]}" -d "$2" "$U/control/$1")" \
        200 "PUT /control/$1 $2 ($(cat "$W/body"))"
}
del() {
    expect_eq "$(curl -s -o "$W/body" -w '%{http_code}' -X DELETE "${AUTH[@]}" "$U/control/$1")" \
        200 "DELETE /control/$1 ($(cat "$W/body"))"
}
# applied NAME [SECONDS]: waits until NAME's agent applied the generation the collector wants;
# prints how long it took, in ms.
applied() {
    local t0 i d a
    t0=$(date +%s%N)
    for ((i = 0; i < ${2:-10} * 20; i++)); do
        d=$(control "$1" desired_generation 2>/dev/null) || d=x
        a=$(control "$1" applied_generation 2>/dev/null) || a=y
        [ "$d" = "$a" ] && [ "$(control "$1" state)" = applied ] && {
            echo $((($(date +%s%N) - t0) / 1000000))
            return
        }
        sleep 0.05
    done
    fail "$1 did not apply generation $d (applied: $a) within ${2:-10}s"
}

send 41001 # A: nothing set

put sources/host-2 '{"filter":"udp dst port 53","by":"fleet test"}'
ms=$(applied host-2)
[ "$ms" -le 1000 ] || fail "host-2 applied its filter after $ms ms, not within a second"
put sources/host-3 '{"filter":"udp dst port 5002"}' # widening: only what its FILTER excludes
applied host-3 >/dev/null
expect_eq "$(curl -s -o "$W/body" -w '%{http_code}' -X PUT "${AUTH[@]}" \
    -d '{"filter":"udp) or (tcp"}' "$U/control/sources/host-1")" 400 "a filter that escapes"
send 41002 # B: host-2 filtered, host-3 narrowed to nothing

put sources/host-1 '{"paused":true}'
applied host-1 >/dev/null
send 41003 # C: host-1 paused too
paused_1=$(control host-1 paused_packets)

for h in host-1 host-2 host-3; do del "sources/$h"; done
for h in host-1 host-2 host-3; do applied "$h" >/dev/null; done
send 41004 # D: all cleared

put all '{"paused":true}'
for h in host-1 host-2 host-3; do applied "$h" >/dev/null; done
expect_eq "$(control host-lo state)" off "the CONTROL=off agent's control state"
send 41005 # E: every agent paused but the CONTROL=off one

# Refusals, counted: a wrong token, none, and a foreign address (host-1's namespace) with the
# right token.
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' \
    -X PUT -d '{}' "$U/control/all")" 401 "a wrong token"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$U/control/all")" 401 "no token"
expect_eq "$(ip netns exec "${NS[0]}" curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" \
    -X DELETE "http://10.77.1.1:$mport/control/all")" 403 "a foreign address"
curl -sf "$U/metrics" >"$W/metrics"
grep -q '^packeteur_control_requests_total{result="unauthorized"} 2$' "$W/metrics" ||
    fail "unauthorized requests not counted: $(grep control_requests "$W/metrics")"
grep -q '^packeteur_control_requests_total{result="forbidden"} 1$' "$W/metrics" ||
    fail "the foreign address not counted: $(grep control_requests "$W/metrics")"
expect_eq "$(json "$U/control" "d['all']['paused']")" True "the entry for all sources, after refusals"

# The collector restarts with its CONTROL_STATE while host-2 restarts too (it forgets what it
# applied): the new collector gives it the desired state (all paused) again.
kill -TERM "${agent[2]}"; wait_exit "${agent[2]}"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit"
start_agent 2 FILTER=udp
start_collector 2
for h in host-1 host-2 host-3; do applied "$h" 15 >/dev/null; done
send 41006 # F: still all paused
del all
for h in host-1 host-2 host-3; do applied "$h" >/dev/null; done
send 41007 # G: all again

for i in 1 2 3 4; do kill -TERM "${agent[$i]}"; done
for i in 1 2 3 4; do wait_exit "${agent[$i]}"; expect_eq "$EXIT_CODE" 0 "agent $i exit"; done
for h in host-1 host-2 host-3 host-lo; do wait_log collector2 "source \"$h\" said goodbye"; done
curl -sf "$U/status" >"$W/status.json"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit"

# count FILE HOST PORT PHASE: datagrams of that phase to HOST:PORT in the output.
count() { pcap_count "$W/$1" "udp and dst host $2 and dst port $3 and src port $4"; }
# check FILE PHASE HOST1 HOST2 HOST3 LO: the datagrams of PHASE in FILE, each HOSTn "N53 N5001
# N5002" (to its ports 53, 5001 and 5002), LO to the CONTROL=off agent's port.
check() {
    local file=$1 phase=$2 lo=$6 i j
    local -a ports=(53 5001 5002) want
    for i in 1 2 3; do
        read -ra want <<<"${@:$((i + 2)):1}"
        for j in 0 1 2; do
            expect_eq "$(count "$file" "10.77.$i.2" "${ports[$j]}" "$phase")" "${want[$j]}" \
                "phase $phase, host-$i, port ${ports[$j]}"
        done
    done
    expect_eq "$(count "$file" 127.0.0.1 "$lport" "$phase")" "$lo" "phase $phase, host-lo"
}
check out1.pcap 41001 "$K $K $K" "$K $K $K" "$K $K 0" "$K"
check out1.pcap 41002 "$K $K $K" "$K 0 0" "0 0 0" "$K"
check out1.pcap 41003 "0 0 0" "$K 0 0" "0 0 0" "$K"
check out1.pcap 41004 "$K $K $K" "$K $K $K" "$K $K 0" "$K"
check out1.pcap 41005 "0 0 0" "0 0 0" "0 0 0" "$K"
check out2.pcap 41006 "0 0 0" "0 0 0" "0 0 0" "$K"
check out2.pcap 41007 "$K $K $K" "$K $K $K" "$K $K 0" "$K"
# pcapng says which filter produced which packets: host-2's interface is described anew when it
# applied its filter (the filter in force, the central one ANDed in) and again when it was
# cleared; a pause alone describes nothing anew (host-1: one description in the first run).
python3 - "$W/out1.pcap" <<'PY' || fail "interface descriptions in the pcapng output"
import struct, sys
data, off, idbs = open(sys.argv[1], "rb").read(), 0, []
while off + 12 <= len(data):
    btype, blen = struct.unpack_from("<II", data, off)
    if btype == 1:  # an interface description: options after link type, reserved, snaplen
        o, name, filt = off + 16, "", ""
        while o + 4 <= off + blen - 4:
            code, olen = struct.unpack_from("<HH", data, o)
            if code == 0:
                break
            val = data[o + 4:o + 4 + olen]
            if code == 2:
                name = val.decode()
            elif code == 11:
                filt = val[1:].decode()  # the first byte says the filter's kind: 0, a string
            o += 4 + (olen + 3) // 4 * 4
        idbs.append((name, filt))
    off += blen
def of(h):
    return [f for n, f in idbs if n.startswith(h + "@") or n == h or n.startswith(h + ":")]
h2, h1 = of("host-2"), of("host-1")
assert len(h2) == 3, idbs
assert "udp dst port 53" not in h2[0] and "(udp dst port 53)" in h2[1] and "udp dst port 53" not in h2[2], h2
assert len(h1) == 1, h1
PY
# Paused packets are counted as paused, never lost: host-1 was paused in C, E and F (3K each),
# host-3 in E and F (2K each: its own FILTER excludes port 5002), the restarted host-2 in F.
[ "$paused_1" = $((3 * K)) ] || fail "host-1's paused packets after C: $paused_1"
python3 - "$W/status.json" "$K" <<'PY' || fail "the accounting of the last run"
import json, sys
d, k = json.load(open(sys.argv[1])), int(sys.argv[2])
want = {"host-1": 9 * k, "host-2": 3 * k, "host-3": 4 * k, "host-lo": 0}
seen = set()
for s in d["sources"]:
    a = s["agent"]
    assert s["lost_packets"] == 0 and s["lost_messages"] == 0, s
    assert a["captured"] == a["relayed"] + a["relay_drops"] + a["rate_limited"] + a["sampled_out"] \
        + a["paused"] + a["delivery_failed"] + a["queued"] + a["unconfirmed"], (s["name"], a)
    assert a["paused"] == want[s["name"]], (s["name"], a["paused"], want[s["name"]])
    seen.add(s["name"])
assert seen == set(want), seen
PY
grep -q 'fleet test' "$W/collector1.log" || fail "the change log line does not say who"
pass "control: filter within ${ms} ms, no widening, pause counted, all, refusals, restart"
