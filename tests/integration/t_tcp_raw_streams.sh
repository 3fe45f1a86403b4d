# Plain capture streams as sources: `tcpdump -U -w - | nc` (classic pcap) and
# `tshark -F pcapng -w - | nc` (pcapng) feed one tcp-raw collector together with an agent. All
# packets of all three arrive, and /status lists each source with its name and interface.
source "$(dirname "$0")/lib.sh"

port=$(free_port); mcol=$(free_port); ua=$(free_port); ub=$(free_port); uc=$(free_port); K=200
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mcol \
    bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "collecting on"
MODE=capture FILTER="udp dst port $ua" SOURCE_NAME=agent RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    bg agent "$PCKTR"
ag=$BG_PID
# FIFOs rather than | pipelines, so that each process has a known PID: a test signals only
# processes it started (never "the newest tcpdump on the machine").
mkfifo "$W/pcap.fifo" "$W/pcapng.fifo"
nc -N 127.0.0.1 "$port" <"$W/pcap.fifo" &
nc_pcap=$!
tcpdump -i lo -U -w - "udp dst port $ub" 2>"$W/tcpdump.log" >"$W/pcap.fifo" &
tcpdump_pid=$!
nc -N 127.0.0.1 "$port" <"$W/pcapng.fifo" &
nc_pcapng=$!
tshark -i lo -F pcapng -w - -f "udp dst port $uc" 2>"$W/tshark.log" >"$W/pcapng.fifo" &
tshark_pid=$!
PIDS+=("$nc_pcap" "$tcpdump_pid" "$nc_pcapng" "$tshark_pid")
wait_log collector 'source "agent": host'
wait_log tcpdump "listening on lo"
wait_log tshark "Capturing on"
sleep 0.5
udp_burst "$ua" "$K"
udp_burst "$ub" $((K + 1))
udp_burst "$uc" $((K + 2))
sleep 1
curl -sf "http://127.0.0.1:$mcol/status" >"$W/status.json" || fail "/status"
kill -INT "$tcpdump_pid" "$tshark_pid"
wait_exit "$tcpdump_pid"
wait_exit "$tshark_pid"
wait_exit "$nc_pcap" # nc -N ends when its input does, and closes the stream cleanly
wait_exit "$nc_pcapng"
kill -TERM "$ag"
wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
sleep 0.5
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $ua")" "$K" "agent packets"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $ub")" $((K + 1)) "tcpdump stream packets"
expect_eq "$(pcap_count "$W/out.pcap" "udp dst port $uc")" $((K + 2)) "tshark pcapng stream packets"
python3 - "$W/status.json" "$uc" <<'PY' || fail "/status sources: $(cat "$W/status.json")"
import json, sys
d = json.load(open(sys.argv[1]))
names = {s["name"]: s for s in d["sources"]}
print(sorted(names))
assert "agent" in names, names
pcap = [s for n, s in names.items() if n.startswith("127.0.0.1:") and "/" not in n]
ng = [s for n, s in names.items() if n.startswith("127.0.0.1:") and n.endswith("/lo")]
assert len(pcap) == 1 and len(ng) == 1, names
assert pcap[0]["agent_version"] == "pcap stream" and pcap[0]["state"] == "up", pcap
assert ng[0]["device"].startswith("lo") and ng[0]["link_type"] == 1, ng
print("pcapng source:", ng[0]["device"], "|", ng[0]["filter"], "|", ng[0]["agent_version"])
assert ng[0]["filter"] == "udp dst port " + sys.argv[2], ng[0]["filter"] # tshark writes if_filter
# shb_userappl and shb_os
assert "Dumpcap" in ng[0]["agent_version"] or "TShark" in ng[0]["agent_version"], ng
assert " on Linux" in ng[0]["agent_version"], ng
PY
grep -q 'source "127.0.0.1:[0-9]*" said goodbye' "$W/collector.log" || fail "no goodbye from the pcap stream"
pass "agent, tcpdump pcap stream and tshark pcapng stream: every packet arrived"
