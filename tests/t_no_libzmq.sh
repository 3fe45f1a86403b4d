#!/usr/bin/env bash
# The core depends on libzmq only through transports/zmq/: no library of the core (every layer
# but pk_transports) may call a zmq_ function. Usage: t_no_libzmq.sh LIBRARY.a...
set -euo pipefail
command -v nm >/dev/null || { echo "FAIL: nm (binutils) is not installed" >&2; exit 1; }
bad=0
for lib in "$@"; do
    calls=$(nm -u "$lib" 2>/dev/null | awk '$2 ~ /^zmq_/ {print $2}' | sort -u | tr '\n' ' ')
    if [ -n "$calls" ]; then
        echo "FAIL: $(basename "$lib") calls libzmq: $calls" >&2
        bad=1
    fi
done
[ "$bad" = 0 ] && echo "ok: $# core libraries call no zmq_ function"
exit "$bad"
