# Helpers of the Kafka tests (t_kafka_*.sh), sourced after lib.sh: a mock cluster of librdkafka
# (tests/kafka_mock.c: 3 brokers on 127.0.0.1) and byte-exact comparisons of captures.
KAFKA_MOCK=${KAFKA_MOCK:?set KAFKA_MOCK to the kafka_mock binary}
# For collectors: one killed without leaving its group holds its partitions until its session
# times out (45 s by default): 3 s here, so that a takeover happens within a test.
GROUP_OPTIONS=session.timeout.ms=3000,heartbeat.interval.ms=300

# kafka_start TOPIC PARTITIONS: starts the mock cluster; sets KAFKA_BROKERS and KAFKA_MOCK_PID.
kafka_start() {
    local i
    bg kafka_mock "$KAFKA_MOCK" "$1" "$2" >"$W/kafka_mock.out" </dev/null
    KAFKA_MOCK_PID=$BG_PID
    for ((i = 0; i < 100; i++)); do
        [ -s "$W/kafka_mock.out" ] && break
        sleep 0.05
    done
    KAFKA_BROKERS=$(head -n 1 "$W/kafka_mock.out")
    [ -n "$KAFKA_BROKERS" ] || fail "kafka_mock did not print its bootstrap servers"
}

# kafka_start_collector: the mock cluster with topic pkts (2 partitions) and a collector on it
# writing $W/out.pcap, once it holds both partitions; sets EP, BACKOFF (short reconnect back-off,
# for the agent too, so that brokers that come back are found within a test) and col.
kafka_start_collector() {
    kafka_start pkts 2
    EP=kafka://$KAFKA_BROKERS/pkts
    BACKOFF=reconnect.backoff.ms=50,reconnect.backoff.max.ms=300
    KAFKA_OPTIONS=$GROUP_OPTIONS,$BACKOFF MODE=collect COLLECT_ENDPOINT=$EP bg collector "$PCKTR" \
        >"$W/out.pcap"
    col=$BG_PID
    wait_log collector "assigned 2 partitions" 15
}

# pcap_lines FILE...: one line per packet (ns timestamp, lengths, every byte), sorted, so that
# captures merged from several sources compare whatever their order. $PCAP_FILTER, when set, is
# a tcpdump filter.
pcap_lines() {
    local f
    for f in "$@"; do
        [ -s "$f" ] || continue # a collector that wrote nothing leaves an empty file
        tcpdump --time-stamp-precision=nano -tt -nn -S -xx -r "$f" ${PCAP_FILTER:+"$PCAP_FILTER"} 2>/dev/null |
            awk '/^\t/ { sub(/^\t0x[0-9a-f]+: +/, " "); line = line $0; next }
                 { if (line != "") print line; line = $0 } END { if (line != "") print line }'
    done | LC_ALL=C sort
}

# The pcap file header (nanosecond magic, little-endian, snaplen 262144, Ethernet) that turns
# the values of a topic into a capture file: docs/KAFKA.md's one-liner.
kafka_pcap_header() {
    printf '\115\074\262\241\002\000\004\000\000\000\000\000\000\000\000\000\000\000\004\000\001\000\000\000'
}
