# FILTER_FILE: a live agent on lo takes its filter from the file; on SIGHUP it reads it again:
# from then on only matching packets are captured, a new hello says the filter, and the pcapng
# output describes the source's interface anew with it. A file that does not compile, or that
# is gone, is logged and changes nothing. The file's SAMPLE= and RELAY_COMPRESSION= lines apply
# on SIGHUP too (a new hello says the sampling); an invalid one changes nothing. FILTER and
# FILTER_FILE together exit 2.
source "$(dirname "$0")/lib.sh"

st=0; MODE=capture FILTER=udp FILTER_FILE=/nonexistent timeout 5 "$PCKTR" 2>"$W/both.log" || st=$?
expect_eq "$st" 2 "FILTER and FILTER_FILE both set"
grep -q 'FILTER="udp" and FILTER_FILE="/nonexistent" are both set' "$W/both.log" || fail "error line"

port=$(free_port) a=$(free_port) b=$(free_port) K=50
echo "udp dst port $a" >"$W/filter"
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port OUTPUT_FORMAT=pcapng bg collector "$PCKTR" >"$W/out.pcapng"
col=$BG_PID
MODE=capture DEVICE=lo FILTER_FILE="$W/filter" SOURCE_NAME=ff RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent "$PCKTR"
ag=$BG_PID
wait_log collector "source \"ff\": .*filter \"\\(udp dst port $a\\) and not"
both() { udp_burst "$a" "$K"; udp_burst "$b" "$K"; sleep 0.3; }
both                                                     # phase 1: only a
echo "udp dst port $b" >"$W/filter"; kill -HUP "$ag"
wait_log agent "SIGHUP: FILTER_FILE=.*: the filter is now \"udp dst port $b\""
wait_log collector "source \"ff\": .*filter \"\\(udp dst port $b\\) and not"
both                                                     # phase 2: only b
echo "udp dst port and garbage (" >"$W/filter"; kill -HUP "$ag"
wait_log agent "SIGHUP: FILTER_FILE=.*is invalid.*the filter in force stays: \"\\(udp dst port $b\\)"
rm "$W/filter"; kill -HUP "$ag"
wait_log agent "SIGHUP: FILTER_FILE=.*cannot be read.*the filter in force stays"
both                                                     # phase 3: still only b
printf 'udp dst port %s\nSAMPLE=1/0\n' "$b" >"$W/filter"; kill -HUP "$ag"
wait_log agent 'SIGHUP: FILTER_FILE=.*SAMPLE="1/0" is invalid.*the filter in force stays'
printf '# thin link\nudp dst\n  port %s\nSAMPLE=1/4\nRELAY_COMPRESSION=zstd:5\n' "$b" >"$W/filter"; kill -HUP "$ag"
wait_log agent "SIGHUP: FILTER_FILE=.*RELAY_COMPRESSION=zstd:5, RELAY_RATE_LIMIT=0, SAMPLE=1/4; sending a new hello"
wait_log collector 'source "ff": .*sampling 1/4'
both                                                     # phase 4: b, 1 flow in 4
kill -TERM "$ag"; wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
wait_log collector 'source "ff" said goodbye'
kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"

expect_eq "$(pcap_count "$W/out.pcapng" "udp dst port $a")" "$K" "packets to a (before the SIGHUP only)"
line=$(grep "done:" "$W/agent.log")
read -r cap rel sampled <<<"$(sed -n 's/.*captured \([0-9]*\), relayed \([0-9]*\), .*sampled out \([0-9]*\),.*/\1 \2 \3/p' <<<"$line")"
expect_eq "$cap" "$((4 * K))" "captured ($line)"
expect_eq "$((rel + sampled))" "$cap" "captured = relayed + sampled out ($line)"
[ "$sampled" -gt 0 ] && [ "$sampled" -lt "$K" ] || fail "SAMPLE=1/4 from the file: $sampled of $K sampled out"
expect_eq "$(pcap_count "$W/out.pcapng" "udp dst port $b")" "$((3 * K - sampled))" "packets to b (after it)"
# Each packet on the interface that describes its filter.
python3 - "$W/out.pcapng" "$a" "$b" <<'PY' || fail "interfaces do not describe the filters"
import struct, sys
data = open(sys.argv[1], "rb").read()
a, b = int(sys.argv[2]), int(sys.argv[3])
off, filters, seen = 0, [], {}
while off + 12 <= len(data):
    t, n = struct.unpack_from("<II", data, off)
    if t == 0x0A0D0D0A:
        filters = []
    elif t == 1:
        o, f = off + 16, ""
        while o + 4 <= off + n - 4:
            code, ln = struct.unpack_from("<HH", data, o)
            if code == 0:
                break
            if code == 11:
                f = data[o + 5:o + 4 + ln].decode()  # if_filter: a type byte, then the text
            o += 4 + (ln + 3) // 4 * 4
        filters.append(f)
    elif t == 6:
        iface = struct.unpack_from("<I", data, off + 8)[0]
        frame = data[off + 28:off + 28 + struct.unpack_from("<I", data, off + 20)[0]]
        dport = struct.unpack_from("!H", frame, 36)[0]
        seen.setdefault(dport, set()).add(filters[iface].split(")")[0])
    off += n
assert seen == {a: {"(udp dst port %d" % a}, b: {"(udp dst port %d" % b}}, seen
PY
pass "FILTER_FILE on SIGHUP: $K, then $((3 * K - sampled)) packets after the new filter and SAMPLE=1/4 ($sampled sampled out), each interface describing its filter; bad files changed nothing"
