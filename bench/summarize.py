#!/usr/bin/env python3
"""Turns bench/run's raw measurements (one JSON object per line) into the human summary on
stdout and a machine-readable file: {"raw": [...], "summary": {...}, "targets": [...]}.

usage: summarize.py RAW.jsonl OUT.json
"""
import json
import statistics
import sys
import time


def med(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt(m, scale=1.0, digits=2, unit=""):
    if m is None:
        return "n/a"
    return "%.*f%s (%.*f-%.*f)" % (digits, m["median"] / scale, unit, digits, m["min"] / scale,
                                    digits, m["max"] / scale)


def main():
    raw = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    summary = {"relay": {}, "live": {}, "idle_latency": {}}
    targets = []
    for m in (r for r in raw if r["kind"] == "meta"):
        print("pcktr %s (commit %s, %s build), %d CPUs, Linux %s" % (
            m["pcktr"], m["commit"], m["build_type"] or "unknown", m["nproc"], m["kernel"]))

    # 1. file relay
    relay = [r for r in raw if r["kind"] == "relay"]
    sizes = sorted({r["size"] for r in relay}, key=lambda s: (s == "mix", s.zfill(5)))
    print("\n1. File relay over loopback into the same pipe reader (median (min-max) of %d runs)"
          % max([r["run"] for r in relay] or [0]))
    print("%-6s %-8s %12s %12s %9s %9s %14s %14s %10s" % (
        "size", "tool", "Mpkt/s", "MB/s", "x nc", "x tcpdump", "agent cpu s/M", "coll. cpu s/M",
        "peak RSS MB"))
    for size in sizes:
        rows = {}
        for tool in ("nc", "tcpdump", "zmq", "tcp-raw", "kafka"):
            rs = [r for r in relay if r["size"] == size and r["tool"] == tool]
            if not rs:
                continue
            pps = [r["packets"] / r["sink"]["seconds"] for r in rs if r["sink"]["seconds"] > 0]
            mbs = [r["sink"]["bytes"] / r["sink"]["seconds"] / 1e6 for r in rs if r["sink"]["seconds"] > 0]
            row = {"pps": med(pps), "mb_s": med(mbs), "runs": len(rs)}
            if tool in ("zmq", "tcp-raw", "kafka"):
                row["agent_cpu_s_per_mpkt"] = med([r["agent"]["cpu_s"] / (r["packets"] / 1e6) for r in rs])
                row["collector_cpu_s_per_mpkt"] = med([r["collector"]["cpu_s"] / (r["packets"] / 1e6) for r in rs])
                row["peak_rss_mb"] = max(max(r["agent"]["rss_kb"], r["collector"]["rss_kb"]) for r in rs) / 1024
            rows[tool] = row
        for tool, row in rows.items():
            if "nc" in rows and rows["nc"]["mb_s"]:
                row["x_nc_bytes"] = row["mb_s"]["median"] / rows["nc"]["mb_s"]["median"]
            if "tcpdump" in rows and rows["tcpdump"]["pps"]:
                row["x_tcpdump_pps"] = row["pps"]["median"] / rows["tcpdump"]["pps"]["median"]
            print("%-6s %-8s %12s %12s %9s %9s %14s %14s %10s" % (
                size, tool, fmt(row["pps"], 1e6), fmt(row["mb_s"], 1, 0),
                "%.2f" % row.get("x_nc_bytes", 0), "%.2f" % row.get("x_tcpdump_pps", 0),
                fmt(row.get("agent_cpu_s_per_mpkt"), 1, 2), fmt(row.get("collector_cpu_s_per_mpkt"), 1, 2),
                "%.0f" % row["peak_rss_mb"] if "peak_rss_mb" in row else ""))
        summary["relay"][size] = rows
    # End to end (agent start to its goodbye at the collector), where the runs recorded it.
    walled = [r for r in relay if "wall_s" in r and r["wall_s"] > 0]
    if walled:
        print("\nEnd to end, agent start to goodbye at the collector (Mpkt/s, median (min-max))")
        for size in sizes:
            cells = []
            for tool in ("zmq", "tcp-raw", "kafka"):
                rs = [r["packets"] / r["wall_s"] for r in walled if r["size"] == size and r["tool"] == tool]
                if rs:
                    summary["relay"][size].setdefault(tool, {})["e2e_pps"] = med(rs)
                    cells.append("%s %s" % (tool, fmt(med(rs), 1e6)))
            print("%-6s %s" % (size, "   ".join(cells)))
    r1500 = summary["relay"].get("1500", {})
    r64 = summary["relay"].get("64", {})
    if "zmq" in r1500:
        targets.append(("zmq file relay >= 0.8x nc at 1500 bytes", r1500["zmq"].get("x_nc_bytes", 0) >= 0.8,
                        "%.2fx" % r1500["zmq"].get("x_nc_bytes", 0)))
    if "zmq" in r64:
        targets.append(("zmq file relay >= 1.5x tcpdump pipe packets/s at 64 bytes",
                        r64["zmq"].get("x_tcpdump_pps", 0) >= 1.5, "%.2fx" % r64["zmq"].get("x_tcpdump_pps", 0)))
    for size, rows in summary["relay"].items():
        if "zmq" in rows and "tcp-raw" in rows:
            ratio = rows["tcp-raw"]["pps"]["median"] / rows["zmq"]["pps"]["median"]
            # read as "tcp-raw is no more than 10% slower"; a faster tcp-raw points at the zmq path
            targets.append(("tcp-raw at least 0.9x zmq packets/s (%s bytes)" % size, ratio >= 0.9, "%.2fx" % ratio))
        for tool in ("zmq", "tcp-raw"):
            if tool in rows:
                targets.append(("peak RSS < 64 MiB, %s %s" % (tool, size), rows[tool]["peak_rss_mb"] < 64,
                                "%.0f MiB" % rows[tool]["peak_rss_mb"]))

    # 2. live capture
    live = [r for r in raw if r["kind"] == "live"]
    if live:
        print("\n2. Live capture on a veth pair: loss at each offered rate (median of runs)")
        print("%-5s %9s %-8s %12s %10s %10s %12s %12s %16s" % (
            "size", "rate", "tool", "sent pkt/s", "loss", "captured", "kernel drops", "relay drops",
            "capture cpu s/M"))
    for size in sorted({r["size"] for r in live}, key=lambda s: int(s)):
        summary["live"][size] = {}
        for rate in sorted({r["rate"] for r in live if r["size"] == size}, key=lambda x: (x == 0, x)):
            cell = {}
            for tool in ("tcpdump", "pipe", "zmq", "tcp-raw"):
                rs = [r for r in live if r["size"] == size and r["rate"] == rate and r["tool"] == tool]
                if not rs:
                    continue
                loss = [(r["sent"]["sent"] - r["written"]) / r["sent"]["sent"] for r in rs if r["sent"]["sent"]]
                row = {"loss": med(loss), "sent_pps": med([r["sent"]["sent"] / r["sent"]["seconds"] for r in rs]),
                       "captured": med([r["captured"] for r in rs]),
                       "kernel_drops": med([r.get("kernel_drops", 0) for r in rs]),
                       "relay_drops": med([r.get("relay_drops", 0) for r in rs])}
                if tool in ("zmq", "tcp-raw"):
                    # what the agent saw and did not deliver must be its own counted drops
                    row["unexplained"] = max(r["captured"] - r["written"] - r["relay_drops"] for r in rs)
                    row["capture_cpu_s_per_mpkt"] = med([r["agent"]["cpu_s"] / max(r["captured"], 1) * 1e6 for r in rs])
                elif tool == "tcpdump" and all("tcpdump" in r for r in rs):
                    row["capture_cpu_s_per_mpkt"] = med([r["tcpdump"]["cpu_s"] / max(r["captured"], 1) * 1e6 for r in rs])
                cell[tool] = row
                print("%-5s %9s %-8s %12.0f %9.2f%% %10.0f %12.0f %12.0f %16s" % (
                    size, rate or "max", tool, row["sent_pps"]["median"], 100 * row["loss"]["median"],
                    row["captured"]["median"], row["kernel_drops"]["median"], row["relay_drops"]["median"],
                    fmt(row.get("capture_cpu_s_per_mpkt"), 1, 2)))
            summary["live"][size][str(rate)] = cell
            for tool in ("zmq", "tcp-raw"):
                if "tcpdump" in cell and tool in cell and cell["tcpdump"]["loss"]["median"] == 0:
                    targets.append(("live %s bytes at %s pkt/s: %s loss-free where tcpdump -w /dev/null is" %
                                    (size, rate or "max", tool), cell[tool]["loss"]["median"] == 0,
                                    "%.3f%%" % (100 * cell[tool]["loss"]["median"])))
            for tool in ("zmq", "tcp-raw"):
                if tool in cell:
                    targets.append(("live %s bytes at %s pkt/s, %s: every packet the agent captured and did "
                                    "not deliver is a counted drop" % (size, rate or "max", tool),
                                    cell[tool]["unexplained"] == 0, "%d unexplained" % cell[tool]["unexplained"]))

    # 3. idle CPU and latency
    il = [r for r in raw if r["kind"] == "idle_latency"]
    if il:
        s = {"idle_cpu_percent_agent": med([r["idle_cpu_percent"]["agent"] for r in il]),
             "idle_cpu_percent_collector": med([r["idle_cpu_percent"]["collector"] for r in il]),
             "latency_p50_us": med([r["sink"]["latency_us"]["p50"] for r in il if "latency_us" in r["sink"]]),
             "latency_p99_us": med([r["sink"]["latency_us"]["p99"] for r in il if "latency_us" in r["sink"]]),
             "delivered": med([r["sink"]["packets"] / r["sent"]["sent"] for r in il])}
        summary["idle_latency"] = s
        print("\n3. Idle CPU over 10 s: agent %s%%, collector %s%%; latency capture -> reader at 1000 pkt/s: "
              "p50 %s us, p99 %s us; delivered %s" % (
                  fmt(s["idle_cpu_percent_agent"]), fmt(s["idle_cpu_percent_collector"]),
                  fmt(s["latency_p50_us"], 1, 0), fmt(s["latency_p99_us"], 1, 0), fmt(s["delivered"], 1, 4)))
        targets.append(("idle CPU < 1% of a core (agent, collector)",
                        s["idle_cpu_percent_agent"]["median"] < 1 and s["idle_cpu_percent_collector"]["median"] < 1,
                        "%.2f%%, %.2f%%" % (s["idle_cpu_percent_agent"]["median"], s["idle_cpu_percent_collector"]["median"])))
        if s["latency_p99_us"]:
            targets.append(("p99 latency < 10 ms at 1000 pkt/s", s["latency_p99_us"]["median"] < 10000,
                            "%.0f us" % s["latency_p99_us"]["median"]))

    # 4. readers besides stdout
    rd = [r for r in raw if r["kind"] == "readers"]
    if rd:
        print("\n4. Readers: zmq file relay at 1500 bytes, stdout's throughput with N PCAP-over-IP "
              "readers (median (min-max))")
        print("%-8s %12s %12s %10s %14s %18s" % ("readers", "Mpkt/s", "MB/s", "x 0 readers",
                                                 "coll. cpu s/M", "readers' drops"))
        base = None
        summary["readers"] = {}
        for n in sorted({r["readers"] for r in rd}):
            rs = [r for r in rd if r["readers"] == n]
            row = {"pps": med([r["packets"] / r["sink"]["seconds"] for r in rs if r["sink"]["seconds"] > 0]),
                   "mb_s": med([r["sink"]["bytes"] / r["sink"]["seconds"] / 1e6 for r in rs if r["sink"]["seconds"] > 0]),
                   "collector_cpu_s_per_mpkt": med([r["collector"]["cpu_s"] / (r["packets"] / 1e6) for r in rs]),
                   "reader_drops": med([r["reader_queue_full_drops"] for r in rs])}
            if n == 0:
                base = row["pps"]["median"]
            if base:
                row["x_0_readers"] = row["pps"]["median"] / base
            summary["readers"][str(n)] = row
            print("%-8d %12s %12s %10s %14s %18s" % (n, fmt(row["pps"], 1e6), fmt(row["mb_s"], 1, 0),
                  "%.2f" % row.get("x_0_readers", 0), fmt(row["collector_cpu_s_per_mpkt"]),
                  fmt(row["reader_drops"], 1, 0)))
        if base and "16" in summary["readers"]:
            x = summary["readers"]["16"]["x_0_readers"]
            targets.append(("stdout with 16 fast readers >= 0.9x its 0-reader throughput (1500 bytes)",
                            x >= 0.9, "%.2fx" % x))

    print("\nTargets (issue #8):")
    for name, ok, value in targets:
        print("  [%s] %s: %s" % ("met " if ok else "MISS", name, value))
    json.dump({"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "raw": raw,
               "summary": summary, "targets": [{"target": n, "met": ok, "value": v} for n, ok, v in targets]},
              open(sys.argv[2], "w"), indent=1)
    print("\nraw results and summary: %s" % sys.argv[2])


main()
