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
    print("%-6s %-8s %12s %12s %8s %8s %9s %14s %14s %10s" % (
        "size", "tool", "Mpkt/s", "MB/s", "x socat", "x nc", "x tcpdump", "agent cpu s/M", "coll. cpu s/M",
        "peak RSS MB"))
    for size in sizes:
        rows = {}
        for tool in ("socat", "zmq-copy", "nc", "tcpdump", "zmq", "tcp-raw", "kafka"):
            rs = [r for r in relay if r["size"] == size and r["tool"] == tool]
            if not rs:
                continue
            pps = [r["packets"] / r["sink"]["seconds"] for r in rs if r["sink"]["seconds"] > 0]
            mbs = [r["sink"]["bytes"] / r["sink"]["seconds"] / 1e6 for r in rs if r["sink"]["seconds"] > 0]
            row = {"pps": med(pps), "mb_s": med(mbs), "runs": len(rs)}
            if all("agent" in r for r in rs):  # pcktr; the copies' sending and receiving processes
                row["agent_cpu_s_per_mpkt"] = med([r["agent"]["cpu_s"] / (r["packets"] / 1e6) for r in rs])
                row["collector_cpu_s_per_mpkt"] = med([r["collector"]["cpu_s"] / (r["packets"] / 1e6) for r in rs])
            if tool in ("zmq", "tcp-raw", "kafka"):
                row["peak_rss_mb"] = max(max(r["agent"]["rss_kb"], r["collector"]["rss_kb"]) for r in rs) / 1024
            rows[tool] = row
        for tool, row in rows.items():
            if "socat" in rows and rows["socat"]["mb_s"]:
                row["x_socat_bytes"] = row["mb_s"]["median"] / rows["socat"]["mb_s"]["median"]
            if "nc" in rows and rows["nc"]["mb_s"]:
                row["x_nc_bytes"] = row["mb_s"]["median"] / rows["nc"]["mb_s"]["median"]
            if "tcpdump" in rows and rows["tcpdump"]["pps"]:
                row["x_tcpdump_pps"] = row["pps"]["median"] / rows["tcpdump"]["pps"]["median"]
            print("%-6s %-8s %12s %12s %8s %8s %9s %14s %14s %10s" % (
                size, tool, fmt(row["pps"], 1e6), fmt(row["mb_s"], 1, 0),
                "%.2f" % row.get("x_socat_bytes", 0), "%.2f" % row.get("x_nc_bytes", 0), "%.2f" % row.get("x_tcpdump_pps", 0),
                fmt(row.get("agent_cpu_s_per_mpkt"), 1, 2), fmt(row.get("collector_cpu_s_per_mpkt"), 1, 2),
                "%.0f" % row["peak_rss_mb"] if "peak_rss_mb" in row else ""))
        summary["relay"][size] = rows
        zc, zm, tr, so = (rows.get(t) for t in ("zmq-copy", "zmq", "tcp-raw", "socat"))
        if zc and zm and tr and so and "x_socat_bytes" in zc and "collector_cpu_s_per_mpkt" in so:
            cpu = lambda row: row["collector_cpu_s_per_mpkt"]["median"]
            print("%-6s libzmq alone (zmq-copy) moves %.2fx socat's bytes/s, pcktr's zmq relay %.2fx of "
                  "that; receiving costs zmq-copy %.2f s/M against socat's %.2f (+%.2f), pcktr's zmq "
                  "collector %.2f against tcp-raw's %.2f (+%.2f)" % (
                      size, zc["x_socat_bytes"], zm["mb_s"]["median"] / zc["mb_s"]["median"], cpu(zc),
                      cpu(so), cpu(zc) - cpu(so), cpu(zm), cpu(tr), cpu(zm) - cpu(tr)))
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
    # the targets of issue 19: ratios to the large-block copy (the ceiling) and to the tcpdump pipe
    for tool in ("zmq", "tcp-raw"):
        if tool in r1500 and "x_socat_bytes" in r1500[tool]:
            x = r1500[tool]["x_socat_bytes"]
            targets.append(("%s file relay >= 0.8x the socat ceiling at 1500 bytes" % tool, x >= 0.8, "%.2fx" % x))
        if tool in r64 and "x_tcpdump_pps" in r64[tool]:
            x = r64[tool]["x_tcpdump_pps"]
            targets.append(("%s file relay >= 2.5x the tcpdump pipe's packets/s at 64 bytes" % tool, x >= 2.5,
                            "%.2fx" % x))
    for size, rows in summary["relay"].items():
        if "zmq" in rows and "tcp-raw" in rows:
            x = (rows["zmq"]["collector_cpu_s_per_mpkt"]["median"] /
                 max(rows["tcp-raw"]["collector_cpu_s_per_mpkt"]["median"], 1e-9))
            targets.append(("file relay %s bytes: zmq collector CPU per packet <= 1.3x tcp-raw's" % size,
                            x <= 1.3, "%.2fx" % x))
        for tool in ("zmq", "tcp-raw"):
            if tool in rows:
                targets.append(("peak RSS <= 30 MiB (today's), %s %s" % (tool, size), rows[tool]["peak_rss_mb"] <= 30,
                                "%.0f MiB" % rows[tool]["peak_rss_mb"]))

    # 2. live capture
    live = [r for r in raw if r["kind"] == "live"]
    if live:
        print("\n2. Live capture on a veth pair: loss at each offered rate (median of runs); loss - tcpdump's in"
              " percentage points; CPU s per million captured packets: the capturing process (agent, tcpdump,"
              " the pipe's tcpdump -w -), the collector, the total (pcktr: agent + collector; pipe: its four"
              " processes), and the ratios to tcpdump -w /dev/null (capture) and to the pipe (total)")
        print("%-5s %7s %-8s %10s %8s %8s %10s %10s %10s %11s %7s %11s %11s %7s" % (
            "size", "rate", "tool", "sent pkt/s", "loss", "-td pts", "captured", "kern.drops", "relay drops",
            "capture s/M", "x td", "coll. s/M", "total s/M", "x pipe"))

    def per_m(cpu, captured):
        return cpu / max(captured, 1) * 1e6
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
                    row["capture_cpu_s_per_mpkt"] = med([per_m(r["agent"]["cpu_s"], r["captured"]) for r in rs])
                    row["collector_cpu_s_per_mpkt"] = med([per_m(r["collector"]["cpu_s"], r["captured"]) for r in rs])
                    row["total_cpu_s_per_mpkt"] = med([per_m(r["agent"]["cpu_s"] + r["collector"]["cpu_s"],
                                                             r["captured"]) for r in rs])
                elif tool == "tcpdump" and all("tcpdump" in r for r in rs):
                    row["capture_cpu_s_per_mpkt"] = med([per_m(r["tcpdump"]["cpu_s"], r["captured"]) for r in rs])
                elif tool == "pipe" and all(len(r.get("pipe_cpu_s", [])) == 4 for r in rs):
                    row["capture_cpu_s_per_mpkt"] = med([per_m(r["pipe_cpu_s"][0], r["captured"]) for r in rs])
                    row["total_cpu_s_per_mpkt"] = med([per_m(sum(r["pipe_cpu_s"]), r["captured"]) for r in rs])
                cell[tool] = row
            td, pipe = cell.get("tcpdump", {}), cell.get("pipe", {})
            for tool, row in cell.items():
                if td and tool != "tcpdump":
                    row["loss_minus_tcpdump_points"] = 100 * (row["loss"]["median"] - td["loss"]["median"])
                if td.get("capture_cpu_s_per_mpkt") and td["capture_cpu_s_per_mpkt"]["median"] > 0 and row.get("capture_cpu_s_per_mpkt"):
                    row["x_tcpdump_cpu"] = (row["capture_cpu_s_per_mpkt"]["median"] /
                                            max(td["capture_cpu_s_per_mpkt"]["median"], 1e-9))
                if pipe.get("total_cpu_s_per_mpkt") and row.get("total_cpu_s_per_mpkt"):
                    row["x_pipe_total_cpu"] = (row["total_cpu_s_per_mpkt"]["median"] /
                                               max(pipe["total_cpu_s_per_mpkt"]["median"], 1e-9))
                print("%-5s %7s %-8s %10.0f %7.2f%% %8s %10.0f %10.0f %11.0f %11s %7s %11s %11s %7s" % (
                    size, rate or "max", tool, row["sent_pps"]["median"], 100 * row["loss"]["median"],
                    "%+.2f" % row["loss_minus_tcpdump_points"] if "loss_minus_tcpdump_points" in row else "",
                    row["captured"]["median"], row["kernel_drops"]["median"], row["relay_drops"]["median"],
                    fmt(row.get("capture_cpu_s_per_mpkt"), 1, 2).split(" ")[0],
                    "%.1f" % row["x_tcpdump_cpu"] if "x_tcpdump_cpu" in row else "",
                    fmt(row.get("collector_cpu_s_per_mpkt"), 1, 2).split(" ")[0] if "collector_cpu_s_per_mpkt" in row else "",
                    fmt(row.get("total_cpu_s_per_mpkt"), 1, 2).split(" ")[0] if "total_cpu_s_per_mpkt" in row else "",
                    "%.2f" % row["x_pipe_total_cpu"] if "x_pipe_total_cpu" in row else ""))
            summary["live"][size][str(rate)] = cell
            rates = sorted({r["rate"] for r in live if r["size"] == size}, key=lambda x: (x == 0, x))
            for tool in ("zmq", "tcp-raw"):
                if tool not in cell:
                    continue
                row = cell[tool]
                if "loss_minus_tcpdump_points" in row:
                    targets.append(("live %s bytes at %s pkt/s, %s: loss <= tcpdump's + 1 point" %
                                    (size, rate or "max", tool), row["loss_minus_tcpdump_points"] <= 1,
                                    "%+.2f points" % row["loss_minus_tcpdump_points"]))
                if "x_tcpdump_cpu" in row and (rate == 100000 or rate == rates[-1]):
                    targets.append(("live %s bytes at %s pkt/s, %s: agent CPU per packet <= 3x tcpdump -w /dev/null's" %
                                    (size, rate or "max", tool), row["x_tcpdump_cpu"] <= 3,
                                    "%.1fx" % row["x_tcpdump_cpu"]))
                targets.append(("live %s bytes at %s pkt/s, %s: every packet the agent captured and did "
                                "not deliver is a counted drop" % (size, rate or "max", tool),
                                row["unexplained"] == 0, "%d unexplained" % row["unexplained"]))

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
        targets.append(("idle CPU <= 0.1% of a core, today's (agent, collector)",
                        s["idle_cpu_percent_agent"]["median"] <= 0.1 and s["idle_cpu_percent_collector"]["median"] <= 0.1,
                        "%.2f%%, %.2f%%" % (s["idle_cpu_percent_agent"]["median"], s["idle_cpu_percent_collector"]["median"])))
        if s["latency_p99_us"]:
            # today's: 1235 us in the run this issue started from
            targets.append(("p99 latency <= 1.25 ms at 1000 pkt/s (today's)", s["latency_p99_us"]["median"] <= 1250,
                            "%.0f us" % s["latency_p99_us"]["median"]))

    # 4. readers besides stdout, next to the fan-out ceiling with as many readers
    rd = [r for r in raw if r["kind"] == "readers"]
    ceil = [r for r in raw if r["kind"] == "readers_ceiling"]
    if rd:
        print("\n4. Readers: zmq file relay at 1500 bytes, stdout's throughput with N PCAP-over-IP "
              "readers (median (min-max)); the ceiling: bench/fanout's 1 MiB copy of the file to "
              "the same sink and N readers")
        print("%-8s %12s %12s %10s %14s %18s %12s %10s %10s" % (
            "readers", "Mpkt/s", "MB/s", "x 0 readers", "coll. cpu s/M", "readers' drops",
            "ceiling MB/s", "ceil. x 0", "x ceil."))
        base = cbase = None
        summary["readers"] = {}

        def mbs(rs):
            return med([r["sink"]["bytes"] / r["sink"]["seconds"] / 1e6 for r in rs if r["sink"]["seconds"] > 0])

        for n in sorted({r["readers"] for r in rd}):
            rs = [r for r in rd if r["readers"] == n]
            cs = [r for r in ceil if r["readers"] == n]
            row = {"pps": med([r["packets"] / r["sink"]["seconds"] for r in rs if r["sink"]["seconds"] > 0]),
                   "mb_s": mbs(rs),
                   "collector_cpu_s_per_mpkt": med([r["collector"]["cpu_s"] / (r["packets"] / 1e6) for r in rs]),
                   "reader_drops": med([r["reader_queue_full_drops"] for r in rs]),
                   "ceiling_mb_s": mbs(cs) if cs else None}
            if n == 0:
                base = row["pps"]["median"]
                cbase = row["ceiling_mb_s"]["median"] if row["ceiling_mb_s"] else None
            if base:
                row["x_0_readers"] = row["pps"]["median"] / base
            if cbase and row["ceiling_mb_s"]:
                row["ceiling_x_0_readers"] = row["ceiling_mb_s"]["median"] / cbase
                row["x_ceiling_ratio"] = row.get("x_0_readers", 0) / row["ceiling_x_0_readers"]
            summary["readers"][str(n)] = row
            print("%-8d %12s %12s %10s %14s %18s %12s %10s %10s" % (
                n, fmt(row["pps"], 1e6), fmt(row["mb_s"], 1, 0), "%.2f" % row.get("x_0_readers", 0),
                fmt(row["collector_cpu_s_per_mpkt"]), fmt(row["reader_drops"], 1, 0),
                fmt(row["ceiling_mb_s"], 1, 0), "%.2f" % row.get("ceiling_x_0_readers", 0),
                "%.2f" % row.get("x_ceiling_ratio", 0)))
        r16 = summary["readers"].get("16")
        if base and r16:
            x = r16["x_0_readers"]
            targets.append(("stdout with 16 fast readers >= 0.9x its 0-reader throughput (1500 bytes)",
                            x >= 0.9, "%.2fx" % x))
            if "ceiling_x_0_readers" in r16:
                print("\nThe ceiling with 16 readers keeps %.2fx of its own 0-reader throughput on this "
                      "machine; pcktr's primary keeps %.2fx, %.2f of the ceiling's ratio."
                      % (r16["ceiling_x_0_readers"], x, r16["x_ceiling_ratio"]))

    print("\nTargets (issues 15 and 19):")
    for name, ok, value in targets:
        print("  [%s] %s: %s" % ("met " if ok else "MISS", name, value))
    json.dump({"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "raw": raw,
               "summary": summary, "targets": [{"target": n, "met": ok, "value": v} for n, ok, v in targets]},
              open(sys.argv[2], "w"), indent=1)
    print("\nraw results and summary: %s" % sys.argv[2])


main()
