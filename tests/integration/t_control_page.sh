# The status page's control form in headless Chromium (driven over the DevTools protocol,
# tests/cdp.py): hidden while the control API is off; with it on, Set with a wrong token shows
# the 401, Set with the token PUTs the entry (GET /control then has it), Clear DELETEs it, and
# the form survives the page's 2 s redraws, and the row of the agent "web 1" comes to show the
# generation it applied.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/browser.sh"

printf 'page-token\n' >"$W/token"
chmod 600 "$W/token"
mcol=$(free_port)
port=$(free_port)
MODE=collect COLLECT_ENDPOINT="tcp://127.0.0.1:$port" OUTPUT=none \
    METRICS_ADDRPORT=127.0.0.1:$mcol CONTROL_TOKEN_FILE="$W/token" bg collector "$PCKTR"
wait_log collector "collecting on"
# An agent called "web 1", whose row shows the generation it applied.
MODE=capture DEVICE=lo FILTER="udp dst port $(free_port)" SOURCE_NAME="web 1" \
    RELAY_ENDPOINT="tcp://127.0.0.1:$port" HEARTBEAT_INTERVAL=500ms bg agent "$PCKTR"
wait_log collector 'source "web 1": host'
U=http://127.0.0.1:$mcol
AUTH=(-H "Authorization: Bearer page-token")

chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$W/chromium-profile" --remote-debugging-port=0 about:blank \
    2>>"$W/chromium.log" &
PIDS+=("$!")
for ((i = 0; i < 200; i++)); do
    [ -s "$W/chromium-profile/DevToolsActivePort" ] && break
    sleep 0.05
done
dport=$(head -n1 "$W/chromium-profile/DevToolsActivePort") || fail "chromium gave no DevTools port"

# The form: wait for it to show, fill it in, click, wait for the answer line.
read -r -d '' JS <<'EOS' || true
(async () => {
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const answer = async (button) => { $('c-out').textContent = ''; $(button).click();
    for (let i = 0; i < 100 && !$('c-out').textContent; i++) await sleep(50);
    return $('c-out').textContent; };
  for (let i = 0; i < 100 && $('control').hidden; i++) await sleep(50);
  const shown = !$('control').hidden;
  $('c-name').value = 'web 1'; $('c-filter').value = 'tcp port 443';
  $('c-paused').checked = true; $('c-sample').value = '1/8'; $('c-rate').value = '2M';
  $('c-token').value = 'wrong';
  const wrong = await answer('c-set');
  $('c-token').value = 'page-token';
  const set = await answer('c-set');
  const gen = (set.match(/"generation":([0-9]+)/) || [])[1];
  const cell = () => { const c = document.querySelector('tr[data-source="web 1"] td.ctl');
    return c ? c.textContent : ''; };
  /* The page redraws every 2 s: the row of "web 1" comes to show the generation it applied. */
  for (let i = 0; i < 120 && cell() !== `applied · gen ${gen}`; i++) await sleep(50);
  const row = cell();
  const kept = $('c-name').value; /* the redraws kept what was typed in the form */
  const state = await (await fetch('control', {headers: {Authorization: 'Bearer page-token'}})).json();
  const clear = await answer('c-clear');
  return {shown, wrong, set, gen, row, kept, entry: state.sources['web 1'] || null, clear};
})()
EOS
python3 "$TESTS_DIR/cdp.py" "$dport" "$U/" "$JS" >"$W/result.json" || fail "the page script"
python3 - "$W/result.json" <<'PY' || fail "the control form: $(cat "$W/result.json")"
import json, sys
r = json.load(open(sys.argv[1]))
print(r)
assert r["shown"], r
assert ": 401 " in r["wrong"], r
assert ": 200 " in r["set"] and '"generation"' in r["set"], r
assert r["gen"] and r["row"] == "applied · gen " + r["gen"], r
assert r["kept"] == "web 1", r
e = r["entry"]
assert e["filter"] == "tcp port 443" and e["paused"] and e["sample"] == "1/8", e
assert e["rate_limit"] == 2 << 20 and "(status page)" in e["changed_by"], e
assert ": 200 " in r["clear"] and '"cleared"' in r["clear"], r
PY
[ "$(curl -s "${AUTH[@]}" "$U/control" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sources"]))')" = 0 ] ||
    fail "Clear left the entry"
pass "the status page's control form sets and clears an entry"
