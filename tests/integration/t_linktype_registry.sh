# Link types leave pcktr as the tcpdump.org registry numbers them: a LINKTYPE_RAW (101) capture
# replayed with READ_FILE, and a live capture on a tun device (which libpcap reports as DLT_RAW,
# 12 on Linux), come out of the collector as 101 in the pcap header and in every pcapng
# interface block, and as 101 in the hello (/status). The headers are read with python here,
# not with pcktr's code.
source "$(dirname "$0")/lib.sh"

N=40
python3 - "$W/raw.pcap" "$N" <<'PY'
import struct, sys
out, n = sys.argv[1], int(sys.argv[2])
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
    for i in range(n):
        udp = struct.pack("!HHHH", 40000 + i, 9999, 8 + 4, 0) + struct.pack("!I", i)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                         bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2])) + udp
        f.write(struct.pack("<IIII", 1700000000 + i, 0, len(ip), len(ip)) + ip)
PY

# linktypes FILE: the link type(s) of a capture file, from its own header bytes.
linktypes() {
    python3 - "$1" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = struct.unpack_from("<I", data, 0)[0]
if magic in (0xA1B2C3D4, 0xA1B23C4D):
    print(struct.unpack_from("<I", data, 20)[0])
elif magic == 0x0A0D0D0A:
    off, types = 0, []
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12 or off + blen > len(data):
            break
        if btype == 1:  # interface description block: link type u16 first
            types.append(struct.unpack_from("<H", data, off + 8)[0])
        off += blen
    print(",".join(map(str, types)) or "none")
else:
    print("bad magic %#x" % magic)
PY
}
source_field() { # METRICS_PORT SOURCE FIELD: a field of that source in the collector's /status
    curl -sf "http://127.0.0.1:$1/status" | python3 -c '
import json, sys
print([s[sys.argv[2]] for s in json.load(sys.stdin)["sources"] if s["name"] == sys.argv[1]][0])' "$2" "$3"
}
hello_linktype() { source_field "$1" "$2" link_type; } # from the source's hello

start_collector() { # FORMAT
    port=$(free_port); mport=$(free_port)
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
        OUTPUT_FORMAT=$1 OUTPUT="$W/out.$1" bg collector "$PCKTR"
    col=$BG_PID
    wait_log collector "collecting on"
}
stop_collector() {
    kill -TERM "$col"; wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
}

for fmt in pcap pcapng; do
    rm -f "$W/out.$fmt" "$W/collector.log"
    start_collector "$fmt"
    MODE=capture READ_FILE="$W/raw.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port SOURCE_NAME=rawfile \
        LINGER=5s "$PCKTR" 2>"$W/agent.log" || fail "agent exited $?"
    wait_log collector 'source "rawfile" said goodbye'
    expect_eq "$(hello_linktype "$mport" rawfile)" 101 "READ_FILE: link type in the hello ($fmt)"
    stop_collector
    expect_eq "$(linktypes "$W/out.$fmt")" 101 "READ_FILE: link type in the $fmt header"
    grep -q "link type 101," "$W/agent.log" || fail "the agent does not log link type 101"
    expect_eq "$(pcap_count "$W/out.$fmt" 'udp dst port 9999')" "$N" "READ_FILE: packets ($fmt)"
    pass "READ_FILE of a LINKTYPE_RAW capture gives 101 in the hello and the $fmt header"
done

# Live capture on a tun device: libpcap says DLT_RAW (12 on Linux), files say 101. python holds
# the tun open (so it has a carrier) and writes raw IPv4 packets into it, which the kernel
# receives on that device and the agent captures.
tun=pkt$$
python3 - "$tun" "$W" "$N" <<'PY' 2>"$W/tun.log" &
import fcntl, os, struct, sys, time
name, w, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", name.encode(), 0x0001 | 0x1000))  # TUNSETIFF: TUN, NO_PI
open(w + "/tun.ready", "w").close()
for _ in range(600):
    if os.path.exists(w + "/tun.go"):
        break
    time.sleep(0.05)
for i in range(n):
    udp = struct.pack("!HHHH", 40000 + i, 9999, 12, 0) + struct.pack("!I", i)
    os.write(fd, struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                             bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2])) + udp)
for _ in range(600):
    if os.path.exists(w + "/tun.done"):
        break
    time.sleep(0.05)
PY
tun_pid=$!
PIDS+=("$tun_pid")
for ((i = 0; i < 100; i++)); do [ -e "$W/tun.ready" ] && break; sleep 0.05; done
[ -e "$W/tun.ready" ] || fail "could not create a tun device: $(cat "$W/tun.log")"
ip link set "$tun" up

start_collector pcapng
MODE=capture DEVICE="$tun" FILTER="udp dst port 9999" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
    SOURCE_NAME=tun HEARTBEAT_INTERVAL=200ms bg agent "$PCKTR"
ag=$BG_PID
wait_log agent "capturing device $tun,"
wait_log collector 'source "tun": host'
expect_eq "$(hello_linktype "$mport" tun)" 101 "tun: link type in the hello"
touch "$W/tun.go"
for ((i = 0; i < 100; i++)); do
    [ "$(source_field "$mport" tun packets)" = "$N" ] && break
    sleep 0.1
done
kill -TERM "$ag"; wait_exit "$ag"; expect_eq "$EXIT_CODE" 0 "agent exit code"
touch "$W/tun.done"
wait "$tun_pid" || fail "the tun writer failed: $(cat "$W/tun.log")"
wait_log collector 'source "tun" said goodbye'
stop_collector
expect_eq "$(linktypes "$W/out.pcapng")" 101 "tun: link type in the pcapng interface block"
expect_eq "$(pcap_count "$W/out.pcapng" 'udp dst port 9999')" "$N" "tun: packets"
pass "live capture on a tun device (DLT_RAW) gives 101 in the hello and the pcapng header"
