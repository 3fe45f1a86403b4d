# The status page lists the stream's readers, in a real browser: headless Chromium loads GET /
# of a collector with a PCAP-over-IP reader (nc) and two GET /stream readers (one pcapng with a
# filter that holds '<' and '&', which must stay text, and one frozen with SIGSTOP behind a
# SERVE_BUFFER of 1 MiB, so that it has drops), and the rendered table must show each one's kind,
# peer, format, filter and packets, the frozen one's drops, and the summary of refusals.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/browser.sh"
python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 2000
port=$(free_port); mport=$(free_port); sport=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
    SERVE_ENDPOINT=tcp://127.0.0.1:$sport SERVE_BUFFER=1M bg collector "$PCKTR" >/dev/null
col=$BG_PID
wait_log collector "collecting on"
URL="http://127.0.0.1:$mport/stream"
nc 127.0.0.1 "$sport" >"$W/serve.pcap" & PIDS+=("$!")
curl -sN "$URL?format=pcapng&filter=len%3C100+%26%26+udp" -o "$W/ng.pcapng" & PIDS+=("$!")
curl -sN "$URL?format=pcap-ns" -o "$W/frozen.pcap" & PIDS+=("$!"); frozen=$!
readers() { curl -sf "http://127.0.0.1:$mport/status" | python3 -c '
import json, sys; print(len(json.load(sys.stdin)["readers"]))'; }
for ((i = 0; i < 100; i++)); do [ "$(readers)" = 3 ] && break; sleep 0.05; done
expect_eq "$(readers)" 3 "readers in /status"
kill -STOP "$frozen"
mkdir "$W/parts" # in bursts the fast readers take in stride, and the frozen one cannot
editcap -c 250 "$W/in.pcap" "$W/parts/part.pcap"
for f in "$W"/parts/part*.pcap; do
    MODE=capture READ_FILE="$f" RELAY_ENDPOINT=tcp://127.0.0.1:$port "$PCKTR" \
        2>>"$W/agent.log" || fail "agent exit $?"
    sleep 0.1
done

browse --dump-dom "http://127.0.0.1:$mport/" >"$W/page.html" || fail "chromium could not load the page"
browse --screenshot="$W/page.png" "http://127.0.0.1:$mport/" >/dev/null || true
python3 "$TESTS_DIR/page_table.py" "$W/page.html" readers readers-summary >"$W/page.json" ||
    fail "cannot read the rendered page"
python3 - "$W/page.json" "$W/page.html" <<'PY' || fail "rendered readers"
import json, sys
p = json.load(open(sys.argv[1]))
html = open(sys.argv[2]).read()
for r in p["rows"]:
    r["kind"], r["peer"], r["cls"] = r["data"]["kind"], r["data"]["peer"], r["classes"]
print("summary:", p["text"])
for r in p["rows"]:
    print(r["kind"], r["peer"], r["cells"])
assert p["text"].startswith("readers: 3 connected, 0 refused by address, 0 at the limit of 16"), p["text"]
by = {(r["kind"], r["cells"][3]): r for r in p["rows"]}
assert set(by) == {("serve", "pcap"), ("stream", "pcapng"), ("stream", "pcap-ns")}, by.keys()
for r in p["rows"]:
    assert r["peer"].startswith("127.0.0.1:") and r["cells"][1] == r["peer"], r
ng, frozen, serve = by[("stream", "pcapng")], by[("stream", "pcap-ns")], by[("serve", "pcap")]
assert ng["cells"][2] == "GET /stream" and ng["cells"][4] == "len<100 && udp", ng
assert "<100" not in html.replace("&lt;100", ""), "the filter became markup"
assert serve["cells"][6] == "2.0k" and serve["cells"][9] == "0", serve  # 2000 packets, no drop
assert ng["cells"][9] == "0" and int(ng["cells"][6]) > 0, ng
assert frozen["cells"][9] not in ("", "0") and "warn" in frozen["cls"][9], frozen
assert frozen["cells"][12] == "SLOW" and int(frozen["cells"][11][:-1]) >= 90, frozen
PY
cp "$W/page.png" "$WORK_ROOT/status-page-readers.png" 2>/dev/null || true
kill -CONT "$frozen"
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
pass "the status page lists 3 readers: kinds, peers, formats, a filter kept as text, drops"
