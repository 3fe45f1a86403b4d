# The systemd units with the environment files of conf/, as systemd would run them. No systemd
# manager runs here, so tests/systemd_env.py computes each service's environment by systemd's
# rules (EnvironmentFile= comments only at line start, quotes, continuations, later assignments
# win, EnvironmentFile= over Environment=, specifiers such as %i), and pcktr runs with exactly
# that environment (env -i) and the unit's LimitNOFILE: an agent as pcktr-capture@DEV on a veth
# device DEV and the collector as pcktr-collect, one network namespace standing for both hosts.
# Runs as root: the User= and capabilities of the units are t_least_privilege's and
# systemd-analyze's (t_ops_configs) part.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
SDENV="$TESTS_DIR/systemd_env.py"
conf=$(cd "$TESTS_DIR/../conf" && pwd)
"$PY" "$SDENV" selftest >"$W/selftest.log" || fail "systemd_env.py selftest: $(cat "$W/selftest.log")"

# Both documented ways to load an env file (the shell's `. file` and EnvironmentFile=) give
# the same values, for the file as shipped and with every commented-out example switched on.
for f in agent collector; do
    ! grep -nE '^[[:space:]]*[#;].*\\$' "$conf/$f.env" ||
        fail "conf/$f.env: a comment ending in a backslash (systemd versions read the next line differently)"
    sed -E 's/^# ?([A-Z_]+=)/\1/' "$conf/$f.env" >"$W/$f.all.env"
    for variant in "$conf/$f.env" "$W/$f.all.env"; do
        declare -A sd=()
        while IFS= read -r -d '' kv; do sd[${kv%%=*}]=${kv#*=}; done < <("$PY" "$SDENV" file "$variant")
        [ "${#sd[@]}" -ge 4 ] || fail "$variant: only ${#sd[@]} assignments by systemd's rules"
        for name in "${!sd[@]}"; do
            shell=$(env -i bash -c 'set -a; . "$1" >/dev/null 2>&1; printf %s "${!2-(unset)}"' _ "$variant" "$name")
            [ "$shell" = "${sd[$name]}" ] ||
                fail "conf/$f.env${variant##*.env}: $name is '${sd[$name]}' for systemd, '$shell' for the shell"
        done
        unset sd
    done
done
pass "conf/agent.env and conf/collector.env read the same by systemd and the shell"

# The units leave room above the collector's own bound of ~1024 tcp-raw connections.
for u in pcktr-capture@.service pcktr-collect.service; do
    lim=$("$PY" "$SDENV" get "$conf/systemd/$u" LimitNOFILE)
    [[ "$lim" =~ ^[0-9]+$ ]] && [ "$lim" -ge 16384 ] || fail "$u: LimitNOFILE='$lim', want a number >= 16384"
done
pass "both units set LimitNOFILE=$lim"

# The two hosts are one namespace here: "collector.example.net" becomes 127.0.0.1, and the
# agent's METRICS_ADDRPORT moves from :9108 to :9109 (the collector keeps :9108). Nothing else
# of the files or units changes but their paths.
tag=$(printf '%05d' $((RANDOM % 100000)))
NS=pk-sdenv-$tag DEV=pksd$tag PEER=pksp$tag
ns_cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true # takes the veth pair with it
    (exit $rc)
    cleanup
}
trap ns_cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add "$DEV" type veth peer name "$PEER"
for d in "$DEV" "$PEER"; do
    ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1" # no neighbour discovery noise
    ip -n "$NS" link set "$d" up
done
mkdir -p "$W/etc/pcktr" "$W/units" "$W/state/pcktr"
sed 's/collector\.example\.net/127.0.0.1/; s/^METRICS_ADDRPORT=:9108/METRICS_ADDRPORT=:9109/' \
    "$conf/agent.env" >"$W/etc/pcktr/agent.env"
cp "$conf/collector.env" "$W/etc/pcktr/collector.env"
for u in pcktr-capture@.service pcktr-collect.service; do
    grep -q '^ExecStart=/usr/local/bin/pcktr$' "$conf/systemd/$u" || fail "$u: ExecStart is not plain pcktr"
    sed "s|/usr/local/bin/pcktr|$PCKTR|; s|/etc/pcktr/|$W/etc/pcktr/|" "$conf/systemd/$u" >"$W/units/$u"
done
envs() { "$PY" "$SDENV" env "$W/units/$1" "$2" "$W/state"; }
mapfile -d '' agent_env < <(envs pcktr-capture@.service "$DEV")
mapfile -d '' col_env < <(envs pcktr-collect.service "")
printf '%s\n' "${agent_env[@]}" >"$W/agent.environ"
printf '%s\n' "${col_env[@]}" >"$W/collector.environ"
grep -qx "DEVICE=$DEV" "$W/agent.environ" || fail "pcktr-capture@$DEV gets $(grep ^DEVICE= "$W/agent.environ" || echo no DEVICE)"

# The unit's LimitNOFILE, or this host's hard limit where that is lower (raising a hard limit
# needs CAP_SYS_RESOURCE, which a container may lack).
nofile=$(( lim < $(ulimit -Hn) ? lim : $(ulimit -Hn) ))
run_unit() { # LOGNAME ENV...: the unit's process in the namespace, with its LimitNOFILE
    local name=$1; shift
    bg "$name" ip netns exec "$NS" prlimit --nofile="$nofile:$nofile" env -i "$@" "$PCKTR"
}
run_unit collector "${col_env[@]}" >"$W/collector.stdout"
COL=$BG_PID
wait_log collector 'collecting on'
run_unit agent "${agent_env[@]}"
AG=$BG_PID
wait_log agent 'connected to collector'
# A capture device of its own: frames written into the veth peer arrive on DEV, and only
# there (a local-experimental EtherType that no stack on this host answers or routes).
N=40
send_frames() { # FIRST: N numbered frames on PEER, then waits until the collector wrote them
    ip netns exec "$NS" "$PY" - "$PEER" "$N" "$1" <<'PY' || fail "cannot send frames on $PEER"
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for i in range(int(sys.argv[3]), int(sys.argv[3]) + int(sys.argv[2])):
    s.send(b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"pcktr-sdenv %04d" % i + bytes(30))
PY
    for ((i = 0; i < 100; i++)); do
        got=$(scrape 9108 metrics | awk '$1 == "packeteur_output_packets_total" {print $2}') || true
        [ "${got:-0}" -ge $(($1 + N)) ] && break
        sleep 0.1
    done
}
scrape() { ip netns exec "$NS" curl -sf --max-time 2 "http://127.0.0.1:$1/$2"; }
send_frames 0
# systemctl reload runs each unit's ExecReload with $MAINPID: both keep running, and capture
# goes on (a SIGHUP used to kill the agent).
for unit in pcktr-capture@.service:$AG:agent pcktr-collect.service:$COL:collector; do
    IFS=: read -r u pid name <<<"$unit"
    reload=$("$PY" "$SDENV" get "$conf/systemd/$u" ExecReload)
    [ -n "$reload" ] || fail "$u has no ExecReload"
    ${reload//\$MAINPID/$pid}
    wait_log "$name" 'SIGHUP'
    kill -0 "$pid" 2>/dev/null || fail "$u: ExecReload ($reload) ended the service"
done
send_frames "$N"
N=$((2 * N))
scrape 9109 status >"$W/agent-status.json" || fail "agent /status on :9109"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))["capture"]; sys.exit(d["device"] != sys.argv[2])' \
    "$W/agent-status.json" "$DEV" || fail "the agent does not capture on $DEV: $(cat "$W/agent-status.json")"
maxfds=$(scrape 9108 metrics | awk '$1 == "process_max_fds" {print $2}') || fail "collector /metrics on :9108"
expect_eq "$maxfds" "$nofile" "the collector's process_max_fds"
kill -TERM "$AG"
wait_exit "$AG" 15
expect_eq "$EXIT_CODE" 0 "agent exit status on SIGTERM"
kill -TERM "$COL"
wait_exit "$COL" 15
expect_eq "$EXIT_CODE" 0 "collector exit status on SIGTERM"
out=$W/state/pcktr/all.pcapng
[ -s "$out" ] || fail "the collector wrote no $out"
expect_eq "$(tshark -r "$out" -Y "eth.type == 0x88b5" 2>/dev/null | wc -l)" "$N" "frames sent on $DEV, in the collector's OUTPUT"
[ ! -s "$W/collector.stdout" ] || fail "the collector wrote $(stat -c %s "$W/collector.stdout") bytes to stdout (the journal)"
pass "pcktr-capture@$DEV captured on $DEV and pcktr-collect wrote OUTPUT, with systemd's environment"
