# Whether an agent says it takes control (docs/CONTROL.md, "On the agent"), seen by a fake
# tcp-raw collector in python that reads the first hello: a live capture with CONTROL on (the
# default) says PK_HELLO_TAKES_CONTROL and applied generation 0; CONTROL=off says 0; a
# READ_FILE replay says 0 whatever CONTROL is (it takes no control). /status agrees.
source "$(dirname "$0")/lib.sh"
export RELAY_TRANSPORT=tcp-raw

python3 "$TESTS_DIR/gen_pcap.py" "$W/in.pcap" 10

# first_hello PORT OUT: accepts one connection on PORT and writes "control applied" of its
# first hello to OUT.
first_hello() {
    /usr/bin/python3 - "$1" >"$2" 2>>"$W/fake.log" <<'PY' &
import socket, struct, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(1); srv.settimeout(15)
conn, _ = srv.accept(); conn.settimeout(15)
buf = b""
while True:
    while len(buf) < 4 or len(buf) < 4 + struct.unpack_from("<I", buf)[0]:
        d = conn.recv(65536)
        if not d: raise SystemExit("closed before a hello")
        buf += d
    ln = struct.unpack_from("<I", buf)[0]
    m, buf = buf[4:4 + ln], buf[4 + ln:]
    if m[5] != 1:
        continue
    o = 32 + m[6] + 24
    for _ in range(4):
        o += 2 + struct.unpack_from("<H", m, o)[0]
    tail = m[o:]
    control, applied = struct.unpack_from("<IQ", tail, 4) if len(tail) == 16 else (0, 0)
    print(control, applied, flush=True)
    break
conn.recv(1 << 20)  # until the agent goes
PY
    PIDS+=("$!")
    for ((i = 0; i < 100; i++)); do
        ss -Htln "( sport = :$1 )" | grep -q . && return
        sleep 0.05
    done
    fail "the fake collector did not listen on $1"
}

# run NAME WANT ENV...: an agent with ENV against a fake collector; its first hello says WANT.
run() {
    local name=$1 want=$2 port mport i
    shift 2
    port=$(free_port) mport=$(free_port)
    first_hello "$port" "$W/$name.hello"
    bg "$name" env "$@" MODE=capture SOURCE_NAME="$name" RELAY_ENDPOINT=tcp://127.0.0.1:$port \
        METRICS_ADDRPORT=127.0.0.1:$mport LINGER=5s "$PCKTR"
    for ((i = 0; i < 200; i++)); do
        [ -s "$W/$name.hello" ] && break
        sleep 0.05
    done
    expect_eq "$(cat "$W/$name.hello")" "$want" "$name: the hello's control and applied generation"
    if [ "$want" = "1 0" ]; then
        wait_log "$name" 'connected to collector'
        curl -sf --max-time 2 "http://127.0.0.1:$mport/status" >"$W/$name.json" || fail "$name /status"
        /usr/bin/python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["control"]
assert c == {"enabled": True, "applied_generation": 0, "refused_generation": 0, "paused": False,
             "central_filter": "", "paused_packets": 0, "rejected_messages": 0}, c
' "$W/$name.json" || fail "$name: /status control: $(cat "$W/$name.json")"
    fi
}

run live-on "1 0" DEVICE=lo FILTER="udp port 9"
run live-off "0 0" DEVICE=lo FILTER="udp port 9" CONTROL=off
run replay "0 0" READ_FILE="$W/in.pcap"
pass "hello: control taken by a live capture with CONTROL=on only (not CONTROL=off, not READ_FILE)"
