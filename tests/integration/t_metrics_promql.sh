# The PromQL of docs/METRICS.md and conf/prometheus/pcktr-alerts.yml, evaluated on what real
# pcktr processes serve: two agents on lo and a collector, with traffic; their /metrics are
# scraped and fed, sample for sample (plus the instance and job labels Prometheus adds, job
# names from conf/prometheus/prometheus.yml), to `promtool test rules` as input series.
# Asserted: each accounting expression of METRICS.md gives one row per agent or per source,
# of value 0 (while running, and at the collector after the agents' goodbyes); every metric
# selector of the alert rules matches a real series; no alert fires on this healthy set-up.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
top=$TESTS_DIR/..
relay=$(free_port) cport=$(free_port) uport=$(free_port) N=200
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$relay METRICS_ADDRPORT=127.0.0.1:$cport \
    bg collector "$PCKTR" >/dev/null
wait_log collector 'collecting on'
aports=()
for s in a b; do
    p=$(free_port)
    aports+=("$p")
    MODE=capture DEVICE=lo FILTER="udp port $uport" SOURCE_NAME="promql-$s" HEARTBEAT_INTERVAL=200ms \
        RELAY_ENDPOINT=tcp://127.0.0.1:$relay METRICS_ADDRPORT=127.0.0.1:$p bg "agent-$s" "$PCKTR"
    wait_log "agent-$s" 'connected to collector'
done
udp_burst "$uport" "$N"

metric() { # PORT NAME [LABELS]: a sample's value, empty if absent
    local sel=$2
    [ -z "${3:-}" ] || sel="$2{$3}"
    curl -sf --max-time 2 "http://127.0.0.1:$1/metrics" | awk -v n="$sel" '$1 == n {print $2}' || true
}
# Settled: each agent has captured every datagram and queued none, and the collector has the
# agent's figures of that (its heartbeat).
for ((i = 0; i < 100; i++)); do
    ok=1
    for k in 0 1; do
        s=$([ $k = 0 ] && echo a || echo b)
        rel=$(metric "${aports[$k]}" packeteur_relay_packets_total)
        [ "${rel:-0}" -ge "$N" ] && [ "$(metric "${aports[$k]}" packeteur_relay_queue_packets)" = 0 ] &&
            [ "$(metric "$cport" packeteur_source_agent_relayed_total "source=\"promql-$s\"")" = "$rel" ] || ok=0
    done
    [ $ok = 1 ] && break
    sleep 0.1
done
[ $ok = 1 ] || fail "agents and collector did not settle on $N packets each"
for k in 0 1; do curl -sf "http://127.0.0.1:${aports[$k]}/metrics" >"$W/agent$k.prom" || fail "agent /metrics"; done
curl -sf "http://127.0.0.1:$cport/metrics" >"$W/collector-live.prom" || fail "collector /metrics"
# The agents leave (goodbye carries their final counters); the collector is scraped again.
for p in "${PIDS[@]:1}"; do kill -TERM "$p"; wait_exit "$p" 15; done
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c 'said goodbye' "$W/collector.log")" -ge 2 ] && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$cport/metrics" >"$W/collector-final.prom" || fail "collector /metrics"

"$PY" - "$top" "$W" "$cport" "${aports[@]}" <<'PY' || fail "cannot build the promtool tests"
import json, re, sys
top, w, cport, aports = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def series(path, instance, job, points=16):
    out = []
    for line in open(path):
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$", line.strip())
        if not m or line.startswith("#"):
            continue
        labels = (m.group(2) + "," if m.group(2) else "") + 'instance="%s",job="%s"' % (instance, job)
        out.append({"series": "%s{%s}" % (m.group(1), labels),
                    "values": " ".join([m.group(3)] * points)})
    return out

agents = [("127.0.0.1:%s" % p, "%s/agent%d.prom" % (w, i)) for i, p in enumerate(aports)]
col = "127.0.0.1:%s" % cport
sources = ["promql-a", "promql-b"]
text = open(top + "/docs/METRICS.md").read().split("## Accounting with PromQL", 1)[1]
exprs = [re.sub(r"\s+", " ", b).strip() for b in re.findall(r"(?:^    .*\n)+", text, re.M)]
assert len(exprs) >= 2, "METRICS.md: %d accounting expressions" % len(exprs)

def expected(expr):
    if "packeteur_source_" in expr:
        return [{"labels": '{instance="%s",job="pcktr-collector",source="%s"}' % (col, s), "value": 0}
                for s in sources]
    return [{"labels": '{instance="%s",job="pcktr-agent"}' % a, "value": 0} for a, _ in agents]

live = [s for a, f in agents for s in series(f, a, "pcktr-agent")]
live += series(w + "/collector-live.prom", col, "pcktr-collector")
final = series(w + "/collector-final.prom", col, "pcktr-collector")
rules = open(top + "/conf/prometheus/pcktr-alerts.yml").read()
alerts = re.findall(r"- alert: (\w+)", rules)
selectors = sorted(set(re.findall(r'packeteur_[a-z_]+(?:\{[^}]*\})?', rules)))
tests = [{
    "interval": "1m", "input_series": live,
    "promql_expr_test": [{"expr": e, "eval_time": "1m", "exp_samples": expected(e)} for e in exprs]
    + [{"expr": "absent(%s)" % s, "eval_time": "1m", "exp_samples": []} for s in selectors],
    "alert_rule_test": [{"alertname": a, "eval_time": "15m", "exp_alerts": []} for a in alerts],
}, {
    "interval": "1m", "input_series": final,
    "promql_expr_test": [{"expr": e, "eval_time": "1m", "exp_samples": expected(e)}
                         for e in exprs if "packeteur_source_" in e],
}]
doc = {"rule_files": [top + "/conf/prometheus/pcktr-alerts.yml"], "evaluation_interval": "1m",
       "tests": tests}
json.dump(doc, open(w + "/promql.test.yml", "w"), indent=1)  # JSON is YAML
print("%d expressions, %d selectors, %d alerts" % (len(exprs), len(selectors), len(alerts)),
      file=open(w + "/counts", "w"))
PY
promtool test rules "$W/promql.test.yml" >"$W/promtool.log" 2>&1 || fail "promtool test rules: $(cat "$W/promtool.log")"
pass "METRICS.md accounting and alert rules on real /metrics: $(cat "$W/counts"); all 0, none firing"
