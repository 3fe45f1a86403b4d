# Log floods: a peer that has read docs/PROTOCOL.md sends 100,000 hello/goodbye pairs, each with
# a new source id (tcp-raw, on 10 connections: each goodbye makes room for the next id; with
# thousands of short connections the tcp-raw connection limit would cut some before they are
# read). Before the rate limit that wrote 50 MB of log in 1.8 s. Now each event kind writes at most 20 lines per 10 s and then one
# "N more <event> suppressed" line: the log of the flood stays under LOG_LIMIT_KB, and for each
# event the lines written plus the counts the summaries give are exactly 100,000. Both formats.
source "$(dirname "$0")/lib.sh"

PAIRS=100000 LOG_LIMIT_KB=64
export RELAY_TRANSPORT=tcp-raw

flood() { # FORMAT
    local fmt=$1 port pid size
    port=$(free_port)
    LOG_FORMAT=$fmt MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port \
        bg "col-$fmt" "$PCKTR" >/dev/null
    pid=$BG_PID
    wait_log "col-$fmt" "collecting on"
    python3 - "$TESTS_DIR" "$port" "$PAIRS" <<'PY' || fail "flood ($fmt)"
import sys
sys.path.insert(0, sys.argv[1])
import pktr_wire as w
port, pairs = int(sys.argv[2]), int(sys.argv[3])
for first in range(0, pairs, pairs // 10):  # 10 connections: a source gone is room for the next
    c = w.TcpRaw("127.0.0.1", port, timeout=30)
    for start in range(first, first + pairs // 10, 1000):
        batch = []
        for i in range(start, start + 1000):
            name = "flood-%d" % i
            batch.append(w.hello(0x7000000 + i, 0, name))
            batch.append(w.goodbye(0x7000000 + i, 1, name))
        c.send_raw(b"".join(len(m).to_bytes(4, "little") + m for m in batch))
    c.close()
PY
    sleep 1
    size=$(stat -c %s "$W/col-$fmt.log")
    [ "$size" -lt $((LOG_LIMIT_KB * 1024)) ] || fail "$fmt: the flood wrote $size bytes of log"
    # The flood is over once the last goodbye's window closes (10 s) and its summary is out.
    wait_log "col-$fmt" 'more source_goodbye suppressed' 25
    size=$(stat -c %s "$W/col-$fmt.log")
    [ "$size" -lt $((LOG_LIMIT_KB * 1024)) ] || fail "$fmt: the flood wrote $size bytes of log"
    kill -TERM "$pid"
    wait_exit "$pid" 15
    expect_eq "$EXIT_CODE" 0 "collector exit code ($fmt)"
    python3 - "$W/col-$fmt.log" "$fmt" "$PAIRS" <<'PY' || fail "$fmt: counts"
import collections, json, re, sys
path, fmt, pairs = sys.argv[1], sys.argv[2], int(sys.argv[3])
written, suppressed = collections.Counter(), collections.Counter()
words = {r'new source "flood-': "source_new", r'source "flood-\d+": host': "source_hello",
         "said goodbye": "source_goodbye"}
for line in open(path, encoding="utf-8"):
    if fmt == "json":
        r = json.loads(line)  # every line, summaries too, is one JSON object
        ev = r.get("event")
        if ev == "log_suppressed":
            assert r["message"] == "%d more %s suppressed (at most 20 per 10 s are written)" % (
                r["suppressed"], r["suppressed_event"]), r
            suppressed[r["suppressed_event"]] += r["suppressed"]
        elif ev is not None:
            written[ev] += 1
    else:
        m = re.search(r": (\d+) more (\w+) suppressed \(", line)
        if m:
            suppressed[m.group(2)] += int(m.group(1))
        for text, ev in words.items():
            if re.search(text, line):
                written[ev] += 1
for ev in ("source_new", "source_hello", "source_goodbye"):
    assert written[ev] + suppressed[ev] == pairs, (ev, written[ev], suppressed[ev])
    assert 0 < written[ev] <= 20 * 4 and suppressed[ev] > 0, (ev, written[ev])
print("%s: written %s, suppressed %s" % (fmt, dict(written), dict(suppressed)))
PY
    echo "$fmt: $size bytes of log for $PAIRS hello/goodbye pairs"
}

flood text
flood json
pass "log flood: bounded log, exact suppressed counts, text and json"
