# The documentation matches the binary: every variable `pcktr --help` lists is in the README's
# configuration table with the same default, and every variable in that table is in --help;
# the example environment files in conf/ are accepted as they are.
source "$(dirname "$0")/lib.sh"

readme="$TESTS_DIR/../README.md"
"$PCKTR" --help >"$W/help.txt"
# --help: "  NAME   text" rows, then "default: X" rows
awk '/^  [A-Z_]+ / {name=$1} /default:/ && name {sub(/.*default: /, ""); print name "=" $0; name=""}' \
    "$W/help.txt" | sort >"$W/help.vars"
# README: "| `NAME` | `default` | ..." rows
sed -n 's/^| `\([A-Z_]*\)` | \([^|]*\) |.*/\1=\2/p' "$readme" |
    sed 's/ *$//; s/=`\(.*\)`$/=\1/' | sort >"$W/readme.vars"
# A variable with no fixed default may say in its text what it falls back to, "(default X)".
awk '/^  [A-Z_]+ / {name=$1} name && match($0, /\(default [^)]*\)/) {
        print name "=" substr($0, RSTART + 9, RLENGTH - 10)} /default:/ {name=""}' \
    "$W/help.txt" | sort >"$W/help.said"
[ "$(wc -l <"$W/help.vars")" -ge 20 ] || fail "too few variables parsed from --help"
diff <(cut -d= -f1 "$W/help.vars") <(cut -d= -f1 "$W/readme.vars") >"$W/names.diff" ||
    fail "variables differ between --help and README: $(cat "$W/names.diff")"
while IFS== read -r name def; do
    readme_def=$(grep "^$name=" "$W/readme.vars" | cut -d= -f2-)
    case "$def" in
    "(empty)") [ "$readme_def" = "(empty)" ] ;;
    "(unset)") [ "$readme_def" = "(unset)" ] || grep -qxF "$name=$readme_def" "$W/help.said" ;;
    *) [ "$readme_def" = "$def" ] ;;
    esac || fail "$name: --help says '$def', README says '$readme_def'"
done <"$W/help.vars"
for f in agent collector; do
    # Every variable it sets is one pcktr knows.
    for v in $(sed -n 's/^\([A-Z_]*\)=.*/\1/p' "$TESTS_DIR/../conf/$f.env"); do
        grep -q "^$v=" "$W/help.vars" || fail "conf/$f.env sets unknown $v"
    done
done
# The agent file parses: pcktr gets past the configuration (which would exit 2) to a runtime
# step (exit 1): resolving the example collector name, or opening the missing device.
rc=0
( set -a; . "$TESTS_DIR/../conf/agent.env"; set +a
  DEVICE=nosuchdev0 METRICS_ADDRPORT= exec "$PCKTR" ) 2>"$W/agent-env.log" || rc=$?
expect_eq "$rc" 1 "conf/agent.env exit code"
grep -qE 'cannot resolve "collector.example.net"|DEVICE="nosuchdev0": no such device' \
    "$W/agent-env.log" || fail "conf/agent.env: $(cat "$W/agent-env.log")"
grep -q 'is invalid' "$W/agent-env.log" && fail "conf/agent.env has an invalid value"
# The collector file runs as it is (on a free port), and stops cleanly on SIGTERM.
rc=0
( set -a; . "$TESTS_DIR/../conf/collector.env"; set +a
  COLLECT_ENDPOINT="tcp://127.0.0.1:$(free_port)" METRICS_ADDRPORT="127.0.0.1:$(free_port)" \
      exec timeout --preserve-status -s TERM 1 "$PCKTR" ) >/dev/null 2>"$W/collector-env.log" || rc=$?
expect_eq "$rc" 0 "conf/collector.env exit code: $(cat "$W/collector-env.log")"
pass "README table, --help and conf/ agree ($(wc -l <"$W/help.vars") variables)"
