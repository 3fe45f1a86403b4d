# conf/kubernetes/pcktr.yaml and conf/container/Dockerfile, checked without a cluster: the
# manifest's structure (host network and two capabilities for agents, an unprivileged single
# collector, a Service that selects it, ports that agree), every variable against --help, each
# container's configuration accepted by pcktr itself, the collector's command run as written
# (as user 65534, with an agent sending to it), and the image's runtime packages against the
# libraries the binary needs.
source "$(dirname "$0")/lib.sh"

conf=$(cd "$TESTS_DIR/../conf" && pwd)
"$PCKTR" --help | awk '/^  [A-Z_]+ / {print $1}' >"$W/help.names"

/usr/bin/python3 - "$conf/kubernetes/pcktr.yaml" "$W/help.names" "$W" <<'PY' || fail "manifest checks"
import re, shlex, sys, yaml
path, names_file, out = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
kinds = {d["kind"]: d for d in docs}
assert sorted(kinds) == ["DaemonSet", "Deployment", "Namespace", "Service"], sorted(kinds)
ns = kinds["Namespace"]["metadata"]["name"]
known = set(open(names_file).read().split())

def container(kind):
    d = kinds[kind]
    assert d["metadata"]["namespace"] == ns, d["metadata"]
    spec = d["spec"]["template"]["spec"]
    assert d["spec"]["selector"]["matchLabels"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
    (c,) = spec["containers"]
    return spec, c

def env_of(c):
    env, node = {}, "testnode"
    for e in c["env"]:
        if "valueFrom" in e:
            assert e["name"] == "NODE_NAME", e  # the only downward-API helper
            env[e["name"]] = node
            continue
        assert e["name"] in known, "%s is not a pcktr variable" % e["name"]
        # Kubernetes expands $(VAR) from earlier entries
        env[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], str(e["value"]))
    return env

def port_of(addr):
    return int(addr.rsplit(":", 1)[1])

# Agents: every node, its network, exactly two capabilities, nothing else.
spec, agent = container("DaemonSet")
assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "ClusterFirstWithHostNet", spec
caps = agent["securityContext"]["capabilities"]
assert caps["drop"] == ["ALL"] and sorted(caps["add"]) == ["NET_ADMIN", "NET_RAW"], caps
assert agent["securityContext"]["allowPrivilegeEscalation"] is False
a = env_of(agent)
assert a["MODE"] == "capture" and a["SOURCE_NAME"] == "testnode:" + a["DEVICE"], a

# The collector: one replica, unprivileged, no capabilities.
spec, col = container("Deployment")
assert kinds["Deployment"]["spec"]["replicas"] == 1
assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
assert col["securityContext"]["capabilities"] == {"drop": ["ALL"]}, col["securityContext"]
c = env_of(col)
assert c["MODE"] == "collect", c

# The Service selects the collector's pods, and the ports agree everywhere.
svc = kinds["Service"]
labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
assert svc["spec"]["selector"].items() <= labels.items(), (svc["spec"]["selector"], labels)
cports = {p["name"]: p["containerPort"] for p in col["ports"]}
sports = {p["name"]: p for p in svc["spec"]["ports"]}
relay = sports["relay"]
assert cports[relay["targetPort"]] == port_of(c["COLLECT_ENDPOINT"]), (relay, c)
host = "%s.%s.svc.cluster.local" % (svc["metadata"]["name"], ns)
assert a["RELAY_ENDPOINT"] == "tcp://%s:%d" % (host, relay["port"]), a["RELAY_ENDPOINT"]
assert "not port %d" % relay["port"] in a["FILTER"], "agents must not capture their own relay"
for kind, cont, env in (("DaemonSet", agent, a), ("Deployment", col, c)):
    m = port_of(env["METRICS_ADDRPORT"])
    ann = kinds[kind]["spec"]["template"]["metadata"]["annotations"]
    assert int(ann["prometheus.io/port"]) == m, (kind, ann)
    assert {p["containerPort"] for p in cont["ports"] if p["name"] == "metrics"} == {m}, kind
    for probe in ("readinessProbe", "livenessProbe"):
        if probe in cont:
            assert cont[probe]["httpGet"]["port"] == m, (kind, probe)
assert cports[sports["metrics"]["targetPort"]] == port_of(c["METRICS_ADDRPORT"])

# For the shell: each container's environment, and the collector's command.
for name, env in (("agent", a), ("collector", c)):
    with open("%s/%s.env" % (out, name), "w") as f:
        for k, v in env.items():
            f.write("export %s=%s\n" % (k, shlex.quote(v)))
assert col["command"][0] == "/bin/bash" and len(col["args"]) == 1, col
with open(out + "/collector.cmd", "w") as f:
    f.write(shlex.join(col["command"][1:] + col["args"]))
print("manifest:", ", ".join("%s %s" % (k, d["metadata"]["name"]) for k, d in kinds.items()))
PY
pass "manifest: host-network agents with two capabilities, one unprivileged collector, ports agree"

# pcktr accepts each container's configuration: exit 2 would be a configuration error. (Here
# it then stops at the device or the cluster's DNS name, with 1, or runs until the timeout.)
for name in agent collector; do
    rc=0
    (source "$W/$name.env"; export METRICS_ADDRPORT=127.0.0.1:$(free_port) OUTPUT="$W/$name.out"
     exec timeout 3 "$PCKTR") >/dev/null 2>"$W/$name-config.log" || rc=$?
    [ "$rc" != 2 ] || fail "pcktr refuses the $name's configuration: $(cat "$W/$name-config.log")"
done
pass "pcktr accepts the configuration of both containers"

# The collector's command as written, as user 65534 with /captures here, and a ring of 1 MB
# files (the manifest's 100 MB would take too long): an agent on lo sends 1000 1400-byte
# datagrams; then SIGTERM to pcktr ends the pipeline cleanly.
port=$(free_port); udp=$(free_port)
chmod 755 "$W"
mkdir -p "$W/captures"
chown 65534:65534 "$W/captures"
cmd=$(sed "s|/captures/|$W/captures/|; s|-C 100|-C 1|" "$W/collector.cmd")
grep -q -- "-C 1 -W 20" <<<"$cmd" || fail "collector command changed shape: $cmd"
PATH=$(dirname "$PCKTR"):$PATH
(source "$W/collector.env"; export COLLECT_ENDPOINT=tcp://127.0.0.1:$port METRICS_ADDRPORT=
 eval "exec setpriv --reuid=65534 --regid=65534 --clear-groups /bin/bash $cmd") 2>"$W/collector.log" &
shell=$!
PIDS+=("$shell")
wait_log collector '"collecting on'
MODE=capture FILTER="udp dst port $udp" RELAY_ENDPOINT=tcp://127.0.0.1:$port bg agent "$PCKTR"
ag=$BG_PID
wait_log collector '"event":"source_hello"'
payload=$(head -c 1400 /dev/zero | tr '\0' x)
for ((i = 0; i < 1000; i++)); do echo "$payload" >"/dev/udp/127.0.0.1/$udp"; done
sleep 1
kill -TERM "$ag"; wait_exit "$ag"
wait_log collector '"event":"source_goodbye"'
kill -TERM "$(pgrep -P "$shell" -x pcktr)"
wait_exit "$shell"; expect_eq "$EXIT_CODE" 0 "the collector's pipeline exit status"
files=$(ls "$W/captures" | sort | tr '\n' ' ')
[[ "$files" == "pcktr.pcap00 pcktr.pcap01 "* ]] || fail "no ring of files: $files"
total=0
for f in "$W"/captures/pcktr.pcap*; do
    total=$((total + $(pcap_count "$f" "udp dst port $udp")))
done
expect_eq "$total" 1000 "packets across the ring of files"
pass "the collector's command writes a ring of files tcpdump reads: $files"

# The image's runtime stage installs the package of every library pcktr links against.
runtime=$(awk '/^FROM debian:12-slim/ {rt = 1} rt' "$conf/container/Dockerfile")
for lib in $(readelf -d "$PCKTR" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
    case $lib in
    libc.so.6 | libm.so.6) continue ;;        # libc6: in every Debian image
    libasan.so.* | libubsan.so.*) continue ;; # this is a sanitizer build; the image's is not
    esac
    file=$(ldd "$PCKTR" | awk -v l="$lib" '$1 == l {print $3}')
    # (merged /usr: a package may own the path ldd gives and not the one it links to)
    pkg=$(dpkg -S "$(readlink -f "$file")" 2>/dev/null | head -1 | cut -d: -f1 || true)
    [ -n "$pkg" ] || pkg=$(dpkg -S "$file" 2>/dev/null | head -1 | cut -d: -f1 || true)
    [ -n "$pkg" ] || fail "no Debian package owns $file ($lib)"
    grep -qw -- "$pkg" <<<"$runtime" || fail "the Dockerfile's runtime stage lacks $pkg (for $lib)"
done
grep -qw tcpdump <<<"$runtime" || fail "the runtime stage lacks tcpdump, which the manifest uses"
pass "Dockerfile runtime packages cover every library pcktr needs"
