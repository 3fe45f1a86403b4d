# The commands the documentation gives are run as written: every EXAMPLES block of pcktr(1)
# and the README's encrypted-relay, plain-capture-stream and thin-link recipes, each in a network
# namespace of its own. Only what cannot exist here is replaced, in the text of the commands:
# the device eth0 by lo, the host name "collector" by 127.0.0.1, and Wireshark (no display) by
# tshark writing the same stream to a file. Checked: each collector listens on every address
# (agents are on other hosts), every datagram sent arrives once per source, no capture holds
# the relay's own traffic, CURVE keys work and an agent is never handed the collector's secret
# key. And statically, over README, pcktr(1) and docs/*.md: every collector command names a
# COLLECT_ENDPOINT on every address, and every `... | nc` capture excludes the relay port.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
top=$TESTS_DIR/..
export LOG_FORMAT=json # the test reads events from the logs; the commands stay as written
mkdir -p "$W/bin"
ln -s "$PCKTR" "$W/bin/pcktr"
export PATH="$W/bin:$PATH"
UPORT=40000 N=30 RELAY=7386

# Commands, one per line (continuations joined, roff escapes undone), one file per example;
# and every collector or `| nc` command line of the docs, for the static checks.
"$PY" - "$top" "$W" <<'PY' || fail "cannot extract the examples"
import glob, re, sys
top, w = sys.argv[1], sys.argv[2]

def commands(block):
    return [c.strip() for c in block.replace("\\\n", " ").split("\n") if c.strip()]

man = open(top + "/docs/pcktr.1").read()
sec = man.split("\n.SH EXAMPLES\n", 1)[1].split("\n.SH ", 1)[0]
blocks = [b.replace("\\-", "-").replace("\\e", "\\")
          for b in re.findall(r"^\.nf\n(.*?)^\.fi$", sec, re.S | re.M)]
assert len(blocks) >= 3, "pcktr(1) EXAMPLES has %d blocks" % len(blocks)
for i, b in enumerate(blocks):
    open("%s/man%d.cmds" % (w, i + 1), "w").write("\n".join(commands(b)) + "\n")
readme = open(top + "/README.md").read()
rblocks = [re.sub(r"^    ", "", b, flags=re.M)
           for b in re.findall(r"(?:^    .*\S.*\n)+", readme, re.M)]
wanted = {"readme-keys": "pcktr keygen", "readme-tcpraw": "RELAY_TRANSPORT=tcp-raw COLLECT_ENDPOINT",
          "readme-thin": "RELAY_COMPRESSION=zstd"}
for name, key in wanted.items():
    found = [b for b in rblocks if key in b]
    assert found, "README has no block with %r" % key
    open("%s/%s.cmds" % (w, name), "w").write("\n".join(commands(found[0])) + "\n")
lines = [(top + "/docs/pcktr.1", c) for b in blocks for c in commands(b)]
lines += [(top + "/docs/pcktr.1", l[3:].replace("\\-", "-"))
          for l in man.split("\n") if l.startswith(".B MODE=")]  # SYNOPSIS
lines += [(top + "/README.md", c) for b in rblocks for c in commands(b)]
conf_readme = open(top + "/conf/README.md").read()
lines += [(top + "/conf/README.md", c) for b in re.findall(r"(?:^    .*\S.*\n)+", conf_readme, re.M)
          for c in commands(b)]
for md in glob.glob(top + "/docs/*.md"):
    lines += [(md, c) for c in re.findall(r"`([^`\n]*\| *nc [^`\n]*)`", open(md).read())]
with open(w + "/doclines", "w") as f:
    for path, c in lines:
        f.write("%s\t%s\n" % (path[len(top) + 1:], c))
PY
while IFS=$'\t' read -r file cmd; do
    case "$cmd" in
    MODE=collect*)
        # (a Kafka collector listens nowhere: it consumes from the brokers)
        [[ "$cmd" =~ COLLECT_ENDPOINT=(tcp://(\*|0\.0\.0\.0|\[::\]):|kafka://) ]] ||
            fail "$file: a collector that listens on localhost only (no COLLECT_ENDPOINT on every address): $cmd" ;;
    *"| nc "*)
        [[ "$cmd" =~ not\ port\ $RELAY ]] || fail "$file: a capture piped to nc that captures its own relay: $cmd" ;;
    esac
done <"$W/doclines"
pass "every collector command in the docs listens on every address; every | nc capture excludes port $RELAY"

tag=$(printf '%05d' $((RANDOM % 100000)))
NSS=()
docs_cleanup() {
    local rc=$? ns
    for p in "${PIDS[@]}"; do kill -9 -- "-$p" "$p" 2>/dev/null || true; done
    for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    (exit $rc)
    cleanup
}
trap docs_cleanup EXIT
OBS=pk-docs-$tag-obs
NSS+=("$OBS")
ip netns add "$OBS"

# first_prog CMD: the program a command line starts with, past its variable assignments.
first_prog() { "$PY" -c 'import shlex, sys; print([w for w in shlex.split(sys.argv[1]) if "=" not in w][0])' "$1"; }

# run_example NAME: runs $W/NAME.cmds in document order in a namespace of its own, from the
# directory $W/NAME; collectors, agents and `| nc` captures in the background, the rest (keys)
# in the foreground. Then N datagrams, the sources stopped, the collector stopped; sets
# SOURCES, RESULT (the collector's capture file or text) and EXDIR.
run_example() {
    local name=$1 ns=pk-docs-$tag-${#NSS[@]} cmd run prog k=0 col_pid= col_log= pids=() progs=() mport
    EXDIR=$W/$name SOURCES=0 RESULT=
    NSS+=("$ns")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # The test reads the collector's /metrics from a namespace of its own, over a veth pair:
    # on lo, its requests would be captured as traffic by the sources under test.
    local vx=pkdx$tag${#NSS[@]} vo=pkdo$tag${#NSS[@]} net=10.203.${#NSS[@]}
    ip link add "$vx" netns "$ns" type veth peer name "$vo" netns "$OBS"
    ip -n "$ns" addr add "$net.1/30" dev "$vx"
    ip -n "$OBS" addr add "$net.2/30" dev "$vo"
    ip -n "$ns" link set "$vx" up
    ip -n "$OBS" link set "$vo" up
    mkdir -p "$EXDIR"
    while IFS= read -r cmd; do
        k=$((k + 1))
        run=$(sed -e 's/\<eth0\>/lo/g' -e 's/\<collector\([: ]'$RELAY'\)/127.0.0.1\1/g' \
            -e 's/wireshark -k -i -/tshark -i - -w wireshark.pcapng/' <<<"$cmd")
        echo "$run" >>"$EXDIR/ran"
        prog=$(first_prog "$run")
        case "$run" in
        MODE=collect* | MODE=capture* | *"| nc "*)
            # A process group of its own: a pipeline stops as a whole. The collector also serves
            # /metrics on the veth address, for the test to see what it wrote.
            mport=; [[ "$run" == MODE=collect* ]] && mport=$net.1:9108
            (cd "$EXDIR" && METRICS_ADDRPORT=$mport exec setsid ip netns exec "$ns" bash -c "$run") \
                >"$EXDIR/cmd$k.out" 2>"$W/$name-cmd$k.log" &
            PIDS+=($!) pids+=($!) progs+=("$prog")
            case "$run" in
            MODE=collect*)
                col_pid=$! col_log=$name-cmd$k
                wait_log "$col_log" '"event":"collecting"|collecting on'
                for ((i = 0; i < 100; i++)); do # libzmq binds in its own thread
                    ss -N "$ns" -Htln "sport = :$RELAY" | grep -q . && break
                    sleep 0.05
                done
                ss -N "$ns" -Htln "sport = :$RELAY" | awk '{print $4}' | grep -qE '^(\*|0\.0\.0\.0|\[::\]):' ||
                    fail "$name: the collector does not listen on every address: $(ss -N "$ns" -Htln | tr -s "\n " " ")"
                [[ "$run" == *"> "* ]] && RESULT=$EXDIR/${run##*> }
                [[ "$run" == *"-w wireshark.pcapng"* ]] && RESULT=$EXDIR/wireshark.pcapng
                [[ "$run" == *"| tcpdump -n -r -" ]] && RESULT=$EXDIR/cmd$k.out ;;
            MODE=capture*)
                SOURCES=$((SOURCES + 1))
                wait_log "$name-cmd$k" '"event":"collector_connected"' ;;
            *)
                SOURCES=$((SOURCES + 1))
                wait_log "$name-cmd$k" 'listening on|Capturing on'
                for ((i = 0; i < 100; i++)); do
                    [ "$(ss -N "$ns" -Htn state established "( dport = :$RELAY )" | wc -l)" -ge "$SOURCES" ] && break
                    sleep 0.05
                done ;;
            esac ;;
        *)
            (cd "$EXDIR" && ip netns exec "$ns" bash -c "$run") >"$EXDIR/cmd$k.out" 2>"$W/$name-cmd$k.log" ||
                fail "$name: '$cmd' failed: $(cat "$W/$name-cmd$k.log")" ;;
        esac
    done <"$W/$name.cmds"
    [ -n "$col_pid" ] && [ -n "$RESULT" ] && [ "$SOURCES" -ge 1 ] || fail "$name: no collector, result or source"
    # N datagrams to a listening socket (no ICMP replies), then wait until the collector has
    # written them (a tcpdump source hands over packets only when its ring's 1 s timeout
    # expires) and nothing more arrives for 1.5 s.
    ip netns exec "$ns" "$PY" - "$UPORT" "$N" <<'PY' || fail "$name: cannot send the datagrams"
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", port))
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    out.sendto(b"x\n", ("127.0.0.1", port))
    time.sleep(0.01)
PY
    local written last=-1 same=0
    for ((i = 0; i < 60 && same < 3; i++)); do
        sleep 0.5
        written=$(ip netns exec "$OBS" curl -sf --max-time 2 "http://$net.1:9108/metrics" |
            awk '$1 == "packeteur_output_packets_total" {print $2}') || written=0
        if [ "${written:-0}" -ge $((N * SOURCES)) ] && [ "$written" = "$last" ]; then
            same=$((same + 1))
        else
            same=0
        fi
        last=$written
    done
    # Stop each source at its first program (a pipeline's reader then sees the end), then the
    # collector once it has every source's goodbye.
    for i in "${!pids[@]}"; do
        [ "${pids[$i]}" = "$col_pid" ] && continue
        pkill -TERM -g "${pids[$i]}" -x "${progs[$i]}" || fail "$name: ${progs[$i]} is not running"
        wait_exit "${pids[$i]}" 15
    done
    for ((i = 0; i < 200; i++)); do
        [ "$(grep -c '"event":"source_goodbye"' "$W/$col_log.log")" -ge "$SOURCES" ] && break
        sleep 0.05
    done
    pkill -TERM -g "$col_pid" -x pcktr || fail "$name: the collector is not running"
    wait_exit "$col_pid" 15
    expect_eq "$EXIT_CODE" 0 "$name: the collector's command exit status"
    grep -q '"event":"peer_refused"' "$W/$col_log.log" && fail "$name: the collector refused a peer"
    return 0
}

# count_result KIND: packets in RESULT of KIND (udp: the datagrams sent; relay: relay traffic).
count_result() {
    local f=(udp "udp.dstport == $UPORT" "> 127.0.0.1.$UPORT: UDP" relay "tcp.port == $RELAY" "127.0.0.1.$RELAY[ :]")
    local i=0; [ "$1" = relay ] && i=3
    if [[ "$RESULT" == *.out ]]; then
        grep -cE -- "${f[$((i + 2))]}" "$RESULT" || true
    else
        tshark -r "$RESULT" -Y "${f[$((i + 1))]}" 2>/dev/null | wc -l
    fi
}

for ex in man1 man2 man3 readme-keys readme-tcpraw readme-thin; do
    run_example "$ex"
    expect_eq "$(count_result udp)" $((N * SOURCES)) "$ex: datagrams in the output ($SOURCES sources)"
    expect_eq "$(count_result relay)" 0 "$ex: relay packets in the output"
    # Keys: the collector's secret key stays on the collector.
    secret=$(sed -n 's/.*COLLECT_CURVE_SECRETKEY=\([^ ]*\).*/\1/p' "$EXDIR/ran")
    if [ -n "$secret" ]; then
        grep -l 'relay is not encrypted' "$W/$ex"-cmd*.log && fail "$ex: a side of the relay is not encrypted"
        secline=$(grep '^secret-key' "$EXDIR/$secret") || fail "$ex: $secret holds no secret key"
        while IFS= read -r cmd; do
            [[ "$cmd" == MODE=capture* ]] || continue
            [[ "$cmd" == *"$secret"* ]] && fail "$ex: an agent is given the collector's secret key file: $cmd"
            for word in $cmd; do
                f=${word#*=}
                [ -f "$EXDIR/$f" ] && grep -qF "$secline" "$EXDIR/$f" &&
                    fail "$ex: the agent's $word holds the collector's secret key"
            done
        done <"$EXDIR/ran"
        grep -q '^RELAY_CURVE_SERVERKEY\|RELAY_CURVE_SERVERKEY=' "$EXDIR/ran" || fail "$ex: agents get no server key"
    fi
    pass "$ex: ran as written; $N datagrams per source arrived, no relay traffic captured"
done
