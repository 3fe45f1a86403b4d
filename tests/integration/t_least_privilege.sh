# Least privilege. (1) Started as root with RUN_AS=nobody, an agent and a collector run as
# nobody (uid, gid, groups, no capabilities left: /proc says so) and every packet still arrives.
# (2) Without root at all: a copy of pcktr with file capabilities cap_net_raw,cap_net_admin
# (setcap), started as nobody, captures; the same copy without them fails with exit 1 and a
# line that says what is missing. (3) RUN_AS without root is refused clearly.
source "$(dirname "$0")/lib.sh"

# proc_field PID FIELD: a line of /proc/PID/status without its label, blanks squeezed
proc_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '[:space:]' ' ' | sed 's/ $//'; }
expect_nobody() { # PID WHAT
    expect_eq "$(proc_field "$1" Uid)" "65534 65534 65534 65534" "$2: uids"
    expect_eq "$(proc_field "$1" Gid)" "65534 65534 65534 65534" "$2: gids"
    expect_eq "$(proc_field "$1" Groups)" "65534" "$2: supplementary groups"
    expect_eq "$(proc_field "$1" CapEff)" "0000000000000000" "$2: effective capabilities"
    expect_eq "$(proc_field "$1" CapPrm)" "0000000000000000" "$2: permitted capabilities"
}

port=$(free_port); ua=$(free_port); N=100
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port RUN_AS=nobody OUTPUT="$W/out.pcap" \
    bg collector "$PCKTR"
col=$BG_PID
wait_log collector "running as user nobody"
MODE=capture FILTER="udp dst port $ua" SOURCE_NAME=dropped RUN_AS=nobody \
    RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent "$PCKTR"
ag=$BG_PID
wait_log agent "running as user nobody"
wait_log collector 'source "dropped": host'
expect_nobody "$ag" agent
expect_nobody "$col" collector
udp_burst "$ua" "$N"
sleep 0.5
kill -TERM "$ag"
wait_exit "$ag"
expect_eq "$EXIT_CODE" 0 "agent exit"
grep -q "done: captured $N, relayed $N, relay drops 0, kernel drops 0" "$W/agent.log" ||
    fail "agent as nobody: $(grep done: "$W/agent.log")"
kill -TERM "$col"
wait_exit "$col"
expect_eq "$(pcap_count "$W/out.pcap")" "$N" "packets written by the collector as nobody"
pass "RUN_AS=nobody: agent and collector run without root and lose nothing"

# (2) File capabilities instead of root. The copy lives where nobody can reach it.
capdir="$W/bin"
mkdir -p "$capdir"
chmod 755 "$W" "$capdir"
cp "$PCKTR" "$capdir/pcktr-nocap"
cp "$PCKTR" "$capdir/pcktr"
chmod 755 "$capdir"/pcktr*
setcap cap_net_raw,cap_net_admin=ep "$capdir/pcktr" || fail "setcap"
getcap "$capdir/pcktr" | grep -q cap_net_admin,cap_net_raw=ep || fail "getcap: $(getcap "$capdir/pcktr")"
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all)
port2=$(free_port); ub=$(free_port)
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port2 bg collector2 "${AS_NOBODY[@]}" "$capdir/pcktr-nocap" \
    >"$W/out2.pcap"
col2=$BG_PID
wait_log collector2 "collecting on"
rc=0
MODE=capture FILTER="udp dst port $ub" RELAY_ENDPOINT=tcp://127.0.0.1:$port2 \
    "${AS_NOBODY[@]}" "$capdir/pcktr-nocap" 2>"$W/nocap.log" || rc=$?
expect_eq "$rc" 1 "capture as nobody without capabilities"
grep -qiE "permission|CAP_NET_RAW" "$W/nocap.log" || fail "no-capability message: $(cat "$W/nocap.log")"
MODE=capture FILTER="udp dst port $ub" SOURCE_NAME=capable RELAY_ENDPOINT=tcp://127.0.0.1:$port2 \
    bg capable "${AS_NOBODY[@]}" "$capdir/pcktr"
cap_agent=$BG_PID
wait_log collector2 'source "capable": host'
expect_eq "$(proc_field "$cap_agent" Uid)" "65534 65534 65534 65534" "capable agent uids"
udp_burst "$ub" "$N"
sleep 0.5
kill -TERM "$cap_agent"
wait_exit "$cap_agent"
grep -q "done: captured $N, relayed $N, relay drops 0" "$W/capable.log" ||
    fail "capable agent: $(grep done: "$W/capable.log")"
kill -TERM "$col2"
wait_exit "$col2"
expect_eq "$(pcap_count "$W/out2.pcap")" "$N" "packets from the capability-only agent"
pass "no root: setcap cap_net_raw,cap_net_admin=ep is enough; without it, exit 1 and why"

# (3) RUN_AS needs root to switch.
rc=0
MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$(free_port) RUN_AS=root \
    "${AS_NOBODY[@]}" "$capdir/pcktr-nocap" >/dev/null 2>"$W/notroot.log" || rc=$?
expect_eq "$rc" 1 "RUN_AS without root"
grep -q 'RUN_AS="root": cannot switch user without root' "$W/notroot.log" ||
    fail "RUN_AS without root: $(cat "$W/notroot.log")"
pass "RUN_AS without root is refused with a clear line"
