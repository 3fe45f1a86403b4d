#!/usr/bin/env bash
# A report of the longest functions (pmccabe), so that the size rule stays true: no function in
# src/ or transports/ over MAX_LINES lines unless tests/complexity_allow.txt lists it with a
# reason. Usage: t_complexity.sh SOURCE_DIR
set -euo pipefail
root=${1:?usage: t_complexity.sh SOURCE_DIR}
max=${MAX_LINES:-80}
allow="$root/tests/complexity_allow.txt"
command -v pmccabe >/dev/null || { echo "FAIL: pmccabe is not installed (.ci/bootstrap installs it)" >&2; exit 1; }
cd "$root"
# pmccabe -v: modified and traditional complexity, statements, first line, lines, file(line): name
report=$(find src transports -name '*.c' | sort | xargs pmccabe 2>/dev/null |
    awk -F'\t' '{split($6, a, "[(]"); sub(/^[^:]*: /, "", $6); print $5 "\t" a[1] ":" $6}' |
    sort -t$'\t' -k1,1nr)
echo "the 10 longest functions (lines, file:function):"
head -n 10 <<<"$report"
bad=0
while IFS=$'\t' read -r lines where; do
    [ "$lines" -gt "$max" ] || break
    if grep -qE "^${where//./\\.}[[:space:]]+[^[:space:]]" "$allow"; then
        echo "allowed: $where ($lines lines): $(grep -E "^${where//./\\.}[[:space:]]" "$allow" | sed 's/^[^[:space:]]*[[:space:]]*//')"
    else
        echo "FAIL: $where has $lines lines (over $max): split it, or list it with a reason in tests/complexity_allow.txt" >&2
        bad=1
    fi
done <<<"$report"
# An entry for a function that is no longer long (or no longer exists) is stale.
while read -r where _; do
    case "$where" in '' | '#'*) continue ;; esac
    grep -qxF "$where" <(awk -F'\t' -v m="$max" '$1 > m {print $2}' <<<"$report") ||
        { echo "FAIL: tests/complexity_allow.txt lists $where, which is not over $max lines" >&2; bad=1; }
done <"$allow"
[ "$bad" -eq 0 ] && echo "ok: no function over $max lines but the $(grep -cvE '^(#|$)' "$allow") allowed"
exit "$bad"
