# A signal that comes while pcktr starts is handled once the start-up is done, never fatal and
# never lost: dozens of collectors and agents (both transports) get SIGHUP, then SIGTERM, at
# random moments of their first milliseconds. Each must log the SIGHUP (handled, not lost),
# stop cleanly on the SIGTERM and exit 0 (not 129, death by SIGHUP, nor 143, by SIGTERM).
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-24}
ms() { printf '0.%03d' $((RANDOM % $1)); }
for mode in collect capture; do
    for ((r = 0; r < ROUNDS; r++)); do
        port=$(free_port)
        transport=zmq; [ $((r % 2)) = 1 ] && transport=tcp-raw
        rm -f "$W/p.log"
        if [ $mode = collect ]; then
            MODE=collect RELAY_TRANSPORT=$transport COLLECT_ENDPOINT=tcp://127.0.0.1:$port \
                bg p "$PCKTR" >/dev/null
        else # nothing listens on the port: the agent just keeps capturing
            MODE=capture RELAY_TRANSPORT=$transport DEVICE=lo FILTER="udp port $port" \
                RELAY_ENDPOINT=tcp://127.0.0.1:$port LINGER=100ms bg p "$PCKTR"
        fi
        pid=$BG_PID
        wait_started "$pid" 2 || true # before main, a signal would kill any program
        sleep "$(ms 40)"
        kill -HUP "$pid" 2>/dev/null || fail "$mode round $r: gone before the SIGHUP"
        sleep "$(ms 40)"
        kill -TERM "$pid" 2>/dev/null || { wait_exit "$pid"; fail "$mode round $r ($transport): died of the SIGHUP (exit $EXIT_CODE)"; }
        wait_exit "$pid"
        expect_eq "$EXIT_CODE" 0 "$mode round $r ($transport): exit status after an early SIGHUP and SIGTERM"
        grep -q "SIGHUP: nothing to reload" "$W/p.log" || fail "$mode round $r: the SIGHUP was lost"
        grep -q "SIGTERM received" "$W/p.log" || fail "$mode round $r: the SIGTERM was not handled"
    done
    pass "$ROUNDS ${mode}ing processes: early SIGHUP and SIGTERM handled, exit 0"
done
