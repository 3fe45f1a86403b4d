# SAMPLE=1/8 on a replay with known flows: the packets written are exactly those of the flows
# whose hash (computed here from docs/PROTOCOL.md, tests/flow_hash.py) is 0 modulo 8, plus
# every non-IP frame; each written TCP flow is complete (tshark -z conv,tcp agrees with the
# input); captured = written + sampled out, and the collector counts no loss.
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_text_pcap.py" "$W/in.pcap" 400
N=$(pcap_count "$W/in.pcap")
port=$(free_port) mport=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "collecting on"
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port SOURCE_NAME=sampled \
    SAMPLE=1/8 "$PCKTR" 2>"$W/agent.log" || fail "agent exited $?"
wait_log collector 'source "sampled" said goodbye'
grep -q 'source "sampled": .*sampling 1/8' "$W/collector.log" || fail "hello does not say 1/8"
curl -s "http://127.0.0.1:$mport/status" >"$W/status.json"
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['sources'][0]; sys.exit(0 if s['sample_n'] == 8 and s['agent']['sampled_out'] > 0 else 1)" "$W/status.json" ||
    fail "/status does not say the source samples 1/8"

# The independent verdict, packet by packet.
python3 - "$TESTS_DIR" "$W/in.pcap" "$W/out.pcap" >"$W/verdict.txt" <<'PY' || fail "written packets differ from the expected flows: $(cat "$W/verdict.txt")"
import sys
sys.path.insert(0, sys.argv[1]); import flow_hash as fh
lt, pin = fh.read_pcap(sys.argv[2])
_, pout = fh.read_pcap(sys.argv[3])
want = [p for p in pin if fh.kept(8, lt, p[1])]
flows = {fh.flow_key(lt, f) for _, f in pin if fh.flow_key(lt, f) is not None}
kept = {k for k in flows if fh.fnv1a(k) % 8 == 0}
if pout != want:
    print("expected %d packets, got %d" % (len(want), len(pout))); sys.exit(1)
nonip = sum(1 for _, f in pin if fh.flow_key(lt, f) is None)
print(len(pin), len(pout), len(flows), len(kept), nonip)
PY
read -r total written nflows nkept nonip <"$W/verdict.txt"
[ "$nkept" -gt 0 ] && [ "$nkept" -lt "$nflows" ] || fail "no flow, or every flow, kept ($nkept of $nflows)"
# tshark: every TCP conversation written has all its frames.
conv() { tshark -r "$1" -q -z conv,tcp 2>/dev/null | awk '/<->/ {print $1, $3, $10, $11, $12}' | sort; }
conv "$W/out.pcap" >"$W/conv_out.txt"
conv "$W/in.pcap" >"$W/conv_in.txt"
[ -s "$W/conv_out.txt" ] || fail "no TCP conversation written"
comm -23 "$W/conv_out.txt" "$W/conv_in.txt" >"$W/conv_diff.txt"
[ ! -s "$W/conv_diff.txt" ] || fail "TCP conversations written incomplete: $(head -3 "$W/conv_diff.txt")"
line=$(grep "done:" "$W/agent.log")
sampled=$(sed -n 's/.*sampled out \([0-9]*\),.*/\1/p' <<<"$line")
expect_eq "$((written + sampled))" "$N" "captured = written + sampled out ($line)"
grep -q "captured $N, relayed $written, relay drops 0, kernel drops 0, interface drops 0, rate limited 0, sampled out $sampled" "$W/agent.log" || fail "agent totals: $line"
grep -q "said goodbye: received $written packets (written $written, link-type drops 0), lost in transit 0 packets" "$W/collector.log" ||
    fail "collector counted loss: $(grep 'said goodbye' "$W/collector.log")"
pass "SAMPLE=1/8: $nkept of $nflows flows kept whole ($written of $N packets, $nonip non-IP), $sampled sampled out"

# pcapng output: the sampling source's interface description says so (not a loss).
port=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port OUTPUT_FORMAT=pcapng bg collector2 "$PCKTR" >"$W/out.pcapng"
col=$BG_PID
wait_log collector2 "collecting on"
MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port SOURCE_NAME=sampled \
    SAMPLE=1/8 "$PCKTR" 2>"$W/agent2.log" || fail "agent exited $?"
wait_log collector2 'source "sampled" said goodbye'
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "pcapng collector exit code"
desc=$(tshark -r "$W/out.pcapng" -T fields -e frame.interface_description -c 1 2>/dev/null)
grep -q "sampling 1/8 flows" <<<"$desc" || fail "pcapng interface description does not say it samples: '$desc'"
pass "pcapng: the interface description says \"$desc\""
