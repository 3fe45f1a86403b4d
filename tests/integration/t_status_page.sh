# The status page in a real browser: headless Chromium loads GET / of a collector with three
# agents (one of them stopped, so "gone"), runs the page's script, and the rendered DOM must list
# every source with its state; a source name with markup in it stays text. The agent's own page
# shows its capture figures. The screenshots are kept in $WORK_ROOT/status-page-*.png.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/browser.sh"
port=$(free_port); mcol=$(free_port); magent=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector "$PCKTR" >/dev/null
wait_log collector "collecting on"
declare -a agents udps
names=(web-1 db-2 '<b>x</b>&y')
for n in 0 1 2; do
    udps[$n]=$(free_port)
    extra=()
    [ "$n" = 0 ] && extra=(METRICS_ADDRPORT=127.0.0.1:$magent)
    env MODE=capture FILTER="udp dst port ${udps[$n]}" SOURCE_NAME="${names[$n]}" \
        RELAY_ENDPOINT=tcp://127.0.0.1:$port "${extra[@]}" "$PCKTR" 2>"$W/agent$n.log" &
    agents[$n]=$!
    PIDS+=("${agents[$n]}")
done
for n in 0 1 2; do wait_log collector "source \"${names[$n]}\": host"; done
udp_burst "${udps[0]}" 50
kill -TERM "${agents[1]}" # says goodbye: "gone" at once
wait_exit "${agents[1]}"
wait_log collector 'source "db-2" said goodbye'

browse --dump-dom "http://127.0.0.1:$mcol/" >"$W/collector.html" || fail "chromium could not load the page"
browse --screenshot="$W/collector.png" "http://127.0.0.1:$mcol/" >/dev/null || true
python3 "$TESTS_DIR/page_table.py" "$W/collector.html" sources summary >"$W/collector.json" ||
    fail "cannot read the rendered collector page"
python3 - "$W/collector.json" "$W/collector.html" <<'PY' || fail "rendered collector page"
import json, sys
from types import SimpleNamespace

page = json.load(open(sys.argv[1]))
html = open(sys.argv[2]).read()
p = SimpleNamespace(summary=page["text"], rows=[
    {"source": r["data"]["source"], "state": r["data"]["state"], "cells": r["cells"]}
    for r in page["rows"]])
print("summary:", p.summary)
for r in p.rows:
    print(r["source"], r["state"], r["cells"][:3])
states = {r["source"]: r["state"] for r in p.rows}
assert states == {"web-1": "up", "db-2": "gone", "<b>x</b>&y": "up"}, states
# the state is shown in its cell, and the name with markup stayed text, not elements
for r in p.rows:
    assert r["cells"][0] == r["source"] and r["cells"][1] == r["state"], r
assert "<b>x</b>" not in html.replace("&lt;b&gt;x&lt;/b&gt;", ""), "a source name became markup"
assert "3 sources: 2 up, 0 stale, 1 gone" in p.summary, p.summary
written = {r["source"]: r["cells"][7] for r in p.rows}
assert written["web-1"] == "50", written
PY
[ "$(stat -c %s "$W/collector.png" 2>/dev/null || echo 0)" -gt 10000 ] || fail "no screenshot"
cp "$W/collector.png" "$WORK_ROOT/status-page-collector.png"
pass "collector page in Chromium: 3 sources with their states, markup in a name stays text"

browse --dump-dom "http://127.0.0.1:$magent/" >"$W/agent.html" || fail "agent page"
browse --screenshot="$W/agent.png" "http://127.0.0.1:$magent/" >/dev/null || true
python3 - "$W/agent.html" <<'PY' || fail "rendered agent page"
import re, sys
html = open(sys.argv[1]).read()
assert 'id="capture"' in html, "no capture table"
cells = dict(re.findall(r"<tr><th>([^<]*)</th><td[^>]*>([^<]*)</td></tr>", html))
print(cells)
assert cells["device"] == "lo" and cells["captured"] == "50" and cells["relay drops"] == "0", cells
assert "web-1" in html and "connected" in html
PY
cp "$W/agent.png" "$WORK_ROOT/status-page-agent.png" 2>/dev/null || true
pass "agent page in Chromium: its own capture figures"

# 200 sources: a tcp-raw collector takes four pcapng streams of 50 interfaces each (one source
# per interface, as 200 hosts would be). The page must list them all; the screenshot is kept to
# be looked at.
kill -TERM "${agents[0]}" "${agents[2]}"
port2=$(free_port); mcol2=$(free_port)
MODE=collect RELAY_TRANSPORT=tcp-raw COLLECT_ENDPOINT=tcp://127.0.0.1:$port2 \
    METRICS_ADDRPORT=127.0.0.1:$mcol2 bg collector200 "$PCKTR" >/dev/null
wait_log collector200 "collecting on"
python3 - "$port2" <<'PY' &
import socket, struct, sys, time
def block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
def option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)
frame = b"\xff" * 12 + b"\x08\x00" + b"\x45" + b"\0" * 45
conns = []
for c in range(4):
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    for i in range(50):
        name = b"host-%03d.dc%d:eth0" % (50 * c + i, i % 3)
        out += block(1, struct.pack("<HHI", 1, 0, 262144) + option(2, name) + option(0, b""))
    for i in range(50):
        for k in range(i % 7 + 1):
            ts = int(time.time() * 1e6)
            out += block(6, struct.pack("<IIIII", i, ts >> 32, ts & 0xffffffff, len(frame),
                                        len(frame)) + frame)
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(out)
    conns.append(s)
time.sleep(20) # stays connected while the page is rendered
PY
PIDS+=($!)
# /status, not the log: the log writes 20 source_new lines per 10 s, then a count.
for ((i = 0; i < 100; i++)); do
    curl -sf "http://127.0.0.1:$mcol2/status" | grep 'host-199' >/dev/null && break
    sleep 0.1
done
browse --window-size=1400,900 --dump-dom "http://127.0.0.1:$mcol2/" >"$W/c200.html" ||
    fail "chromium could not load the page with 200 sources"
browse --window-size=1400,900 --screenshot="$W/c200.png" "http://127.0.0.1:$mcol2/" >/dev/null || true
python3 - "$W/c200.html" <<'PY' || fail "rendered page with 200 sources"
import re, sys
html = open(sys.argv[1]).read()
rows = re.findall(r'<tr data-source="([^"]*)" data-state="([^"]*)"', html)
print(len(rows), "rows;", rows[:2])
assert len(rows) == 200 and all(st == "up" for _, st in rows), len(rows)
assert len({n for n, _ in rows}) == 200
assert re.search(r'id="summary"[^>]*>[^<]*200 sources: 200 up', html), "summary"
PY
cp "$W/c200.png" "$WORK_ROOT/status-page-200-sources.png" 2>/dev/null || true
pass "collector page in Chromium with 200 sources: every one listed"
