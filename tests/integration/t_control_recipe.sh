# README's recipe "Capture one host's DNS for ten minutes", run as written: its two blocks are
# taken from README.md and run line by line, with only what cannot be here replaced in their
# text: /etc/pcktr and /var/lib/pcktr by the test's directory, the ports 7386 and 9108 by free
# ones, and `sleep 600` by sending the test's traffic. Two agents on lo, web1:eth0 and db1:eth0,
# capture the same datagrams to ports 53 and 5001. Checked: during the ten "minutes" the output
# holds web1's DNS only (db1 paused, web1 narrowed), the status line shows both applied, after
# the DELETEs both send everything again, and db1's packets are counted as paused, not lost.
source "$(dirname "$0")/lib.sh"

K=30
port=$(free_port); mport=$(free_port); dport=$(free_port)
python3 - "$TESTS_DIR/../README.md" "$W" "$port" "$mport" <<'PY' || fail "cannot take the recipe"
import re, sys
readme, w, port, mport = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3], sys.argv[4]
sec = readme.split("### Capture one host's DNS for ten minutes\n", 1)[1].split("\n### ", 1)[0]
blocks = [re.sub(r"^    ", "", b, flags=re.M) for b in re.findall(r"(?:^    .*\S.*\n)+", sec, re.M)]
assert len(blocks) == 2, blocks
for i, b in enumerate(blocks):
    b = b.replace("/etc/pcktr", w + "/etc").replace("/var/lib/pcktr", w + "/var")
    b = b.replace(":7386", ":" + port).replace(":9108", ":" + mport)
    b = b.replace("sleep 600", "ten_minutes")
    b = b.replace("OUTPUT=dns.pcap", "OUTPUT=%s/dns.pcap" % w)
    open("%s/block%d.sh" % (w, i + 1), "w").write(b)
PY
grep -q 'ten_minutes' "$W/block2.sh" || fail "the recipe has no sleep 600 where the capture runs"

mkdir -p "$W/bin"
ln -s "$PCKTR" "$W/bin/pcktr"
export PATH="$W/bin:$PATH"

# Block 1: the token and the collector, which its `&` makes a job of this shell (with its HTTP
# server on the default address but for the port).
export METRICS_ADDRPORT=:$mport
source "$W/block1.sh" 2>"$W/collector.log"
col=$!
PIDS+=("$col")
wait_log collector "collecting on"
[ "$(stat -c %a "$W/etc/control.token")" = 600 ] || fail "the token file is not mode 600"
agents=()
for name in web1:eth0 db1:eth0; do
    METRICS_ADDRPORT= MODE=capture DEVICE=lo FILTER="udp dst port 53 or udp dst port $dport" SOURCE_NAME=$name \
        RELAY_ENDPOINT=tcp://127.0.0.1:$port HEARTBEAT_INTERVAL=500ms bg "agent-${name%%:*}" "$PCKTR"
    agents+=("$BG_PID")
done
for name in web1:eth0 db1:eth0; do wait_log collector "source \"$name\": host"; done

send() { # SOURCE-PORT: K datagrams to port 53 and K to $dport, from that source port
    python3 - "$1" "$K" "$dport" <<'PY'
import socket, sys, time
sport, k, dport = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", sport))
for n in range(k):
    for p in (53, dport):
        s.sendto(b"recipe %d" % n, ("127.0.0.1", p))
    time.sleep(0.002)
PY
    sleep 0.7
}
# all_applied: waits until every source applied what the collector wants.
all_applied() {
    local i
    for i in $(seq 100); do
        [ "$(curl -sf "http://127.0.0.1:$mport/status" | python3 -c 'import json,sys
print(all(s["control"]["state"] == "applied" for s in json.load(sys.stdin)["sources"]))')" = True ] &&
            return 0
        sleep 0.05
    done
    echo "not applied within 5 s" >&2
    return 1
}
# The ten minutes: once the agents applied the changes (within milliseconds), the traffic.
ten_minutes() { all_applied && send 42001; }
export -f send all_applied ten_minutes
export K dport mport

# Block 2: the changes, the status line, the ten minutes, and the undo.
bash -euo pipefail "$W/block2.sh" >"$W/block2.out" 2>"$W/block2.err" ||
    fail "the recipe's commands: $(cat "$W/block2.err")"
# The status line, right after the PUTs: each source is applied, or pending for milliseconds.
grep -Eqx 'web1:eth0 (applied|pending)' "$W/block2.out" || fail "status line: $(cat "$W/block2.out")"
grep -Eqx 'db1:eth0 (applied|pending)' "$W/block2.out" || fail "status line: $(cat "$W/block2.out")"
# Undone: the agents apply the DELETEs, then both send everything again.
all_applied || fail "the DELETEs were not applied"
send 42002
curl -sf "http://127.0.0.1:$mport/status" >"$W/status.json"
for a in "${agents[@]}"; do kill -TERM "$a"; done
for a in "${agents[@]}"; do wait_exit "$a"; expect_eq "$EXIT_CODE" 0 "agent exit"; done
for name in web1:eth0 db1:eth0; do wait_log collector "source \"$name\" said goodbye"; done
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit"

expect_eq "$(pcap_count "$W/dns.pcap" "udp dst port 53 and src port 42001")" "$K" "DNS in the ten minutes (web1 only)"
expect_eq "$(pcap_count "$W/dns.pcap" "udp dst port $dport and src port 42001")" 0 "other traffic in the ten minutes"
expect_eq "$(pcap_count "$W/dns.pcap" "udp dst port 53 and src port 42002")" $((2 * K)) "DNS after (both agents)"
expect_eq "$(pcap_count "$W/dns.pcap" "udp dst port $dport and src port 42002")" $((2 * K)) "other traffic after"
python3 - "$W/status.json" "$K" <<'PY' || fail "paused is counted, nothing lost"
import json, sys
d, k = json.load(open(sys.argv[1])), int(sys.argv[2])
by = {s["name"]: s for s in d["sources"]}
assert by["db1:eth0"]["control"]["paused_packets"] == 2 * k, by["db1:eth0"]["control"]
assert by["web1:eth0"]["control"]["paused_packets"] == 0, by["web1:eth0"]["control"]
for s in by.values():
    assert s["lost_packets"] == 0, s
PY
grep -q 'alice: DNS of web1' "$W/collector.log" || fail "the change log does not say who"
pass "README's DNS recipe: web1's DNS only for the ten minutes, all again after"
