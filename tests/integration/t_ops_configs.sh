# Operations files, checked by the tools that will read them: the Prometheus scrape
# configuration and alert rules (promtool check config / check rules / test rules), the systemd
# units (systemd-analyze verify, with the man page they point to), the man page against --help,
# and `cmake --install` into a scratch prefix.
source "$(dirname "$0")/lib.sh"

conf=$(cd "$TESTS_DIR/../conf" && pwd)
promtool check config "$conf/prometheus/prometheus.yml" >"$W/promtool.log" 2>&1 ||
    fail "promtool check config: $(cat "$W/promtool.log")"
promtool check rules "$conf/prometheus/pcktr-alerts.yml" >"$W/promtool.log" 2>&1 ||
    fail "promtool check rules: $(cat "$W/promtool.log")"
(cd "$conf/prometheus" && promtool test rules pcktr-alerts.test.yml) >"$W/promtool.log" 2>&1 ||
    fail "promtool test rules: $(cat "$W/promtool.log")"
# Every alert names only metrics that pcktr exports (a renamed metric would silently never fire).
"$PCKTR" --help >/dev/null
for m in $(grep -o 'packeteur_[a-z_]*' "$conf/prometheus/pcktr-alerts.yml" | sort -u); do
    grep -rqF --include='*.c' "\"$m" "$TESTS_DIR/../src" "$TESTS_DIR/../transports" ||
        fail "alert rules use $m, which no metric renderer (src/, transports/) exports"
done
pass "Prometheus: scrape config and alert rules valid, alert unit tests pass, metric names exist"

# systemd units: verify with the binary and env files of this tree, and the man page on MANPATH.
mkdir -p "$W/units" "$W/man/man1"
cp "$TESTS_DIR/../docs/pcktr.1" "$W/man/man1/"
for u in pcktr-capture@.service pcktr-collect.service; do
    sed "s|/usr/local/bin/pcktr|$PCKTR|; s|EnvironmentFile=/etc/pcktr/|EnvironmentFile=$conf/|" \
        "$conf/systemd/$u" >"$W/units/$u"
done
cp "$W/units/pcktr-capture@.service" "$W/units/pcktr-capture@lo.service"
MANPATH="$W/man" systemd-analyze verify "$W/units/pcktr-capture@lo.service" \
    "$W/units/pcktr-collect.service" >"$W/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$W/verify.log")"
[ ! -s "$W/verify.log" ] || fail "systemd-analyze verify warns: $(cat "$W/verify.log")"
grep -q '^AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN$' "$conf/systemd/pcktr-capture@.service" ||
    fail "the agent unit must grant exactly CAP_NET_RAW CAP_NET_ADMIN"
grep -q '^CapabilityBoundingSet=$' "$conf/systemd/pcktr-collect.service" ||
    fail "the collector unit must have no capabilities"
pass "systemd units verify (agent: two capabilities; collector: none)"

# The man page documents every variable with the default --help gives.
"$PCKTR" --help | awk '/^  [A-Z_]+ / {name=$1} /default:/ && name {sub(/.*default: /, ""); print name "\t" $0; name=""}' \
    >"$W/help.vars"
[ "$(wc -l <"$W/help.vars")" -ge 25 ] || fail "too few variables from --help"
while IFS=$'\t' read -r name def; do
    # in the ENVIRONMENT section: ".TP", ".B NAME", the text, "(default: X)"
    mdef=$(awk -v n="$name" '/^\.SH/ {env = ($2 == "ENVIRONMENT")}
        env && $0 == ".B " n {getline; getline; print; exit}' "$TESTS_DIR/../docs/pcktr.1" |
        sed 's/^(default: //; s/)$//; s/\\-/-/g; s/\\\\/\\/g')
    [ -n "$mdef" ] || fail "pcktr.1 lacks $name in ENVIRONMENT"
    [ "$mdef" = "$def" ] || fail "pcktr.1: $name default '$mdef', --help says '$def'"
done <"$W/help.vars"
man -l "$TESTS_DIR/../docs/pcktr.1" >"$W/man.txt" 2>"$W/man.log" || fail "man cannot render pcktr.1"
[ ! -s "$W/man.log" ] || fail "man warns: $(cat "$W/man.log")"
pass "pcktr(1) lists every variable with its default and renders cleanly"

# cmake --install: the binary, the man page and the examples land under the prefix.
cmake --install "$(dirname "$PCKTR")" --prefix "$W/prefix" >"$W/install.log" 2>&1 ||
    fail "cmake --install: $(cat "$W/install.log")"
for f in bin/pcktr share/man/man1/pcktr.1 share/doc/pcktr/conf/agent.env \
    share/doc/pcktr/conf/collector.env share/doc/pcktr/conf/systemd/pcktr-capture@.service \
    share/doc/pcktr/conf/prometheus/pcktr-alerts.yml share/doc/pcktr/conf/kubernetes/pcktr.yaml \
    share/doc/pcktr/LOGGING.md share/doc/pcktr/SECURITY.md share/doc/pcktr/ARCHITECTURE.md \
    share/doc/pcktr/README.md; do
    [ -e "$W/prefix/$f" ] || fail "cmake --install did not install $f"
done
"$W/prefix/bin/pcktr" --version | grep -q '^pcktr ' || fail "installed pcktr does not run"
pass "cmake --install: binary, man page, example configuration, documentation"
