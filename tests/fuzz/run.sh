#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time from the seed corpus in tests/fuzz/corpus.
# usage: tests/fuzz/run.sh FUZZ_BUILD_DIR [SECONDS_PER_TARGET]
# Exit status: 0 when no target found anything; 1 on a finding (crash, leak, sanitizer
# report, timeout), whose input is kept in the work directory and printed.
set -u
build=${1:?usage: run.sh FUZZ_BUILD_DIR [SECONDS]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
work=${FUZZ_WORK:-$build/fuzz-work}
status=0
for target in frame inflate capstream config control; do
    rm -rf "$work/$target"
    mkdir -p "$work/$target/corpus" "$work/$target/findings"
    # New inputs go to a scratch corpus; the seeds in the tree stay as they are.
    if ! "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$work/$target/findings/" \
        "$work/$target/corpus" "$here/corpus/$target" >"$work/$target/log" 2>&1; then
        echo "fuzz_$target: FINDING; log $work/$target/log, input(s):" >&2
        ls "$work/$target/findings" >&2
        tail -40 "$work/$target/log" >&2
        status=1
    else
        echo "fuzz_$target: $(grep -E '^stat::number_of_executed_units' "$work/$target/log" | awk '{print $2}') runs in ${seconds}s, no finding"
    fi
done
exit $status
