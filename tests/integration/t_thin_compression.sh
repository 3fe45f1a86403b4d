# RELAY_COMPRESSION: a text-heavy replay with zstd and with lz4 arrives byte-exact, the agent's
# and the collector's byte counters show the ratio; agents compressed, plain and of protocol
# version 1 (played by pktr_wire.py) feed one collector; a compressed message that lies about
# its length (a bomb) or is corrupt is dropped and counted, and the collector's memory stays.
source "$(dirname "$0")/lib.sh"

python3 "$TESTS_DIR/gen_text_pcap.py" "$W/in.pcap" 300
N=$(pcap_count "$W/in.pcap")
port=$(free_port) mport=$(free_port)
ep=tcp://127.0.0.1:$port
MODE=collect COLLECT_ENDPOINT=$ep METRICS_ADDRPORT=127.0.0.1:$mport bg collector "$PCKTR" >"$W/out.pcap"
col=$BG_PID
wait_log collector "collecting on"
metric() { curl -s "http://127.0.0.1:$mport/metrics" | awk -v k="$1" '$1 == k {print $2}'; }

# One agent after the other, so the output is three copies of the input in order.
for c in zstd:3 lz4 none; do
    MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=$ep SOURCE_NAME="agent-$c" \
        RELAY_COMPRESSION=$c "$PCKTR" 2>"$W/agent-$c.log" || fail "agent $c exited $?"
    grep -q "captured $N, relayed $N, relay drops 0" "$W/agent-$c.log" || fail "agent $c totals"
    wait_log collector "source \"agent-$c\" said goodbye"
    grep -q "source \"agent-$c\" said goodbye: received $N packets (written $N" "$W/collector.log" ||
        fail "collector totals for $c"
    plain=$(sed -n 's/.*batch bytes \([0-9]*\), on the wire \([0-9]*\).*/\1/p' "$W/agent-$c.log")
    wire=$(sed -n 's/.*batch bytes \([0-9]*\), on the wire \([0-9]*\).*/\2/p' "$W/agent-$c.log")
    [ -n "$plain" ] && [ "$plain" -gt 0 ] || fail "agent $c: no batch bytes"
    # The collector saw the same bytes, before and after, per source.
    expect_eq "$(metric "packeteur_source_batch_wire_bytes_total{source=\"agent-$c\"}")" "$wire" "$c wire bytes at the collector"
    expect_eq "$(metric "packeteur_source_batch_plain_bytes_total{source=\"agent-$c\"}")" "$plain" "$c plain bytes at the collector"
    case $c in
    none) expect_eq "$wire" "$plain" "plain agent's wire bytes" ;;
    lz4) [ $((wire * 2)) -lt "$plain" ] || fail "$c: ratio $plain/$wire is under 2 on text" ;;
    *) [ $((wire * 3)) -lt "$plain" ] || fail "$c: ratio $plain/$wire is under 3 on text" ;;
    esac
    echo "  $c: $plain bytes in batches, $wire on the wire"
done
[ "$(metric 'packeteur_source_compressed_messages_total{source="agent-none"}')" = 0 ] || fail "plain agent sent compressed messages"
[ "$(metric 'packeteur_source_compressed_messages_total{source="agent-lz4"}')" -gt 0 ] || fail "lz4 agent sent none compressed"
pass "zstd, lz4 and plain agents: $N packets each, counted before and after compression"

# A version 1 peer (an old agent) and version 2 hostile messages, from pktr_wire.py.
/usr/bin/python3 - "$TESTS_DIR" "$RELAY_TRANSPORT" 127.0.0.1 "$port" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1]); import pktr_wire as w
peer = w.Zmq("tcp://%s:%s" % (sys.argv[3], sys.argv[4])) if sys.argv[2] == "zmq" else w.TcpRaw(sys.argv[3], int(sys.argv[4]))
frames = [w.udp_frame(b"old agent %d " % i * 20) for i in range(10)]
name = "old-agent"
peer.send(w.hello(11, 0, name))
peer.send(w.packets(11, 1, name, 0, frames))
good = w.compressed(w.packets(11, 2, name, 10, frames))
peer.send(good)
bomb = w.compressed(w.packets(11, 3, name, 20, frames), declared=0xFFFFFFFF)
peer.send(bomb)                                  # declares 4 GiB: oversized, never inflated
z = bytearray(good); z[-8] ^= 0xFF
peer.send(bytes(z[:16]) + (3).to_bytes(8, "little") + bytes(z[24:]))  # corrupt: malformed
peer.send(w.goodbye(11, 4, name, captured=30, relayed=30))
time.sleep(0.5)
peer.close()
PY
wait_log collector 'source "old-agent" said goodbye'
grep -q 'source "old-agent" said goodbye: received 20 packets (written 20, link-type drops 0), lost in transit 10 packets' "$W/collector.log" ||
    fail "old agent's totals: $(grep 'old-agent" said' "$W/collector.log")"
expect_eq "$(metric 'packeteur_messages_dropped_total{reason="oversized"}')" 1 "bomb counted as oversized"
expect_eq "$(metric 'packeteur_messages_dropped_total{reason="malformed"}')" 1 "corrupt counted as malformed"
expect_eq "$(metric 'packeteur_source_compressed_messages_total{source="old-agent"}')" 1 "hand-made zstd message taken"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$col/status")
kill -TERM "$col"
wait_exit "$col"; expect_eq "$EXIT_CODE" 0 "collector exit code"
[ "$rss" -lt 65536 ] || fail "collector RSS ${rss} KiB after a bomb"
pass "version 1 and version 2 peers in one collector; a bomb and a corrupt message counted (RSS ${rss} KiB)"

# Byte-exact: the three copies of the input, then the old agent's 20.
editcap -r "$W/out.pcap" "$W/first.pcap" "1-$N" >/dev/null 2>&1
diff <(pcap_dump "$W/in.pcap") <(pcap_dump "$W/first.pcap") >"$W/diff.txt" || fail "zstd copy differs"
editcap -r "$W/out.pcap" "$W/second.pcap" "$((N + 1))-$((2 * N))" >/dev/null 2>&1
diff <(pcap_dump "$W/in.pcap" | sed 1d) <(pcap_dump "$W/second.pcap" | sed 1d) >"$W/diff.txt" || fail "lz4 copy differs"
expect_eq "$(pcap_count "$W/out.pcap")" "$((3 * N + 20))" "packets written"
pass "compressed replays are byte-exact"

# An old collector (protocol version 1 only), when one is at hand (OLD_PCKTR, e.g. a build of
# the previous release; CI has none): it drops the compressed batches as wrong-version, counted,
# and takes the agent's version 1 hello and stats, so the batches show as lost in transit.
if [ -x "${OLD_PCKTR:-}" ]; then
    port=$(free_port) mport=$(free_port)
    MODE=collect COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=127.0.0.1:$mport \
        bg old "$OLD_PCKTR" >"$W/old.pcap"
    old=$BG_PID
    wait_log old "collecting on"
    MODE=capture READ_FILE="$W/in.pcap" RELAY_ENDPOINT=tcp://127.0.0.1:$port SOURCE_NAME=new \
        RELAY_COMPRESSION=zstd "$PCKTR" 2>"$W/agent-new.log" || fail "agent to the old collector exited $?"
    wait_log old 'source "new" said goodbye'
    [ "$(metric 'packeteur_messages_dropped_total{reason="version"}')" -gt 0 ] || fail "old collector counted no wrong-version"
    grep -q "source \"new\" said goodbye: received 0 packets (written 0, link-type drops 0), lost in transit $N packets" "$W/old.log" ||
        fail "old collector's books"
    kill -TERM "$old"; wait_exit "$old"
    pass "an old collector refuses compressed batches as wrong-version, counted"
fi
