#!/usr/bin/env bash
# The demo: a local mosquitto, the MeltWatch daemon, a duty-room webhook receiver, and three plant
# gateways at once on the simulator's plant models: a steel shop whose EAF wall panel leaks (the
# electrodes rise late) while gas escapes on the converter platform, a casting shop whose station 1
# loses its mould water while the platform keeps descending, and a dust-collection system running
# its cycles. Alarms arrive at the receiver, signed; the duty officer acknowledges them.
#
#   bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_packages chromium chromium-driver fonts-noto-cjk
step "build"
swift build --product meltwatch
swift build --product meltwatch-sim
BIN="$(swift build --show-bin-path)"

RUN=demo-run
rm -rf "$RUN" && mkdir -p "$RUN"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

step "mosquitto on 127.0.0.1:18830 (config/mosquitto/demo.conf)"
mosquitto -c config/mosquitto/demo.conf >"$RUN/mosquitto.log" 2>&1 &
pids+=($!)

step "duty-room receiver on 127.0.0.1:18090 (verifies every signature)"
python3 -u scripts/duty-receiver.py 18090 config/demo-duty.secret > >(tee "$RUN/duty-room.log") &
pids+=($!)

"$BIN/meltwatch" check --config config/demo.yaml

step "meltwatch run --config config/demo.yaml (log: $RUN/meltwatch.log)"
"$BIN/meltwatch" run --config config/demo.yaml 2>"$RUN/meltwatch.log" &
daemon=$!
pids+=($daemon)
for _ in $(seq 1 100); do
  curl -fsS http://127.0.0.1:18080/readyz >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS http://127.0.0.1:18080/readyz | sed 's/^/  readyz | /'
echo "  duty console: open http://127.0.0.1:18080/ in a browser (live alarms, acknowledge, shelve)"

# One gateway per plant, all at once, on the simulator's plant models (cycles, drift, noise, per-tag
# reporting by exception), each with its scripted fault: about a minute of plant time at 1.5–3×.
step "simulators: three plants at once, in Sparkplug B, Kepware IoT Gateway JSON and MeltWatch JSON (meltwatch-sim --plant … --format …; logs: $RUN/sim-*.log)"
sims=()
play() {  # plant scenario speed [more args]
  local plant=$1 scenario=$2 speed=$3; shift 3
  "$BIN/meltwatch-sim" --list-scenarios --rate 2 | grep -A1 "^$scenario:" | sed "s/^/  [$plant] /"
  "$BIN/meltwatch-sim" --broker mqtt://127.0.0.1:18830 --config config/demo.yaml --plant "$plant" \
    --scenario "$scenario" --rate 2 --speed "$speed" --ground-truth "$RUN/truth-$scenario.json" "$@" \
    2> >(sed -u "s/^meltwatch-sim: /  [$plant] /" | tee "$RUN/sim-$plant.log" >&2) &
  sims+=($!)
}
play baotou-steel steel-shop-leak 3 --format sparkplug-b
play nantong-aluminium casting-shop-water-loss 1.5 --format kepware-iot
play foshan-polishing dust-shop 60 --duration 3600
for pid in "${sims[@]}"; do wait "$pid"; done
sleep 2
python3 - "$RUN" <<'PY'
import glob, json, sys
n = sum(len(json.load(open(f))["alarms"]) for f in glob.glob(sys.argv[1] + "/truth-*.json"))
print(f"  ground truth: the scenarios must cause {n} alarm events ({sys.argv[1]}/truth-*.json)")
PY

step "alarms received by the duty room: $(grep -c '^  duty room | \[' "$RUN/duty-room.log" || true) (log: $RUN/duty-room.log)"

step "the duty console's open alarms (GET /api/alarms)"
curl -fsS http://127.0.0.1:18080/api/alarms > "$RUN/alarms.json"
python3 - "$RUN/alarms.json" <<'PY'
import json, sys
for a in json.load(open(sys.argv[1])):
    print(f"  {a['priority']:9} {a['state']:15} {a['alarm_id']}")
PY
# The console as the duty room sees it, in headless Chromium driven over WebDriver (a plain
# `chromium --screenshot` can shoot before the page's requests finish: the live stream keeps it loading).
python3 scripts/console-browser.py --url http://127.0.0.1:18080/ --screenshot-only "$RUN/console.png" >/dev/null \
  && echo "  screenshot of the console: $RUN/console.png"

step "the duty officer acknowledges the emergency alarms (POST /api/alarms/{id}/ack)"
python3 - <<'PY'
import json, urllib.request
alarms = json.load(urllib.request.urlopen("http://127.0.0.1:18080/api/alarms"))
for a in alarms:
    if a["priority"] == "emergency" and a["state"] in ("active-unacked", "rtn-unacked"):
        body = json.dumps({"operator": "值班员 王工", "note": "已通知现场，联锁已手动复核"}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:18080/api/alarms/{a['alarm_id']}/ack", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        r = json.load(urllib.request.urlopen(req))
        print(f"  {r['alarm_id']}: {r['state']} (acknowledged by {r['acknowledged_by']})", flush=True)
PY
sleep 1
step "the hazard records the data opened (GET /api/hazards): a failed interlock is a 重大事故隐患, a process alarm is not"
python3 - <<'PY'
import json, urllib.error, urllib.request
def post(path, body):
    req = urllib.request.Request("http://127.0.0.1:18080" + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(req).status, ""
    except urllib.error.HTTPError as e:
        return e.code, json.load(e).get("error", "")
hazards = json.load(urllib.request.urlopen("http://127.0.0.1:18080/api/hazards?status=all"))
for h in hazards:
    print(f"  {h['id']} {h['class']:7} {h['status']:12} {h['equipment']}: {h['description'][:60]}")
if hazards:
    h = hazards[0]
    s, _ = post(f"/api/hazards/{h['id']}/rectification", {"operator": "设备科 王工", "responsible": "设备科 王工",
        "measures": "更换执行机构并校验联锁回路", "funds": "3万元", "deadline": "2099-12-31", "plan": "联锁失效时停机预案"})
    print(f"  rectification recorded: {s}")
    s, _ = post(f"/api/hazards/{h['id']}/submit", {"operator": "设备科 王工"})
    print(f"  submitted for verification: {s}")
    s, why = post(f"/api/hazards/{h['id']}/close", {"operator": "安全环保部 李经理"})
    print(f"  销号 without evidence from the data: {s} ({why[:90]}…)")
PY
step "stopping the daemon (SIGTERM: graceful)"
kill -TERM "$daemon"
wait "$daemon" && echo "  meltwatch exited 0"

step "the journal: every message as received, checked record by record"
"$BIN/meltwatch" journal verify "$RUN/journal" | sed 's/^/  /'
step "replay: the same engine and alarm book over the journal give the same alarm events (acknowledgements too)"
"$BIN/meltwatch" replay --config config/demo.yaml --journal "$RUN/journal" --output "$RUN/replay.jsonl" 2>&1 | sed 's/^/  /'
step "the audit report for the casting station's plant: $RUN/report-nantong-aluminium.html"
"$BIN/meltwatch" report --config config/demo.yaml --journal "$RUN/journal" --plant nantong-aluminium \
  --format html --output "$RUN/report-nantong-aluminium.html" 2>&1 | sed 's/^/  /'
step "the regulator's forms from the hazard records: $RUN/hazard-ledger.html, $RUN/hazard-weekly.csv"
"$BIN/meltwatch" hazards export --config config/demo.yaml --form ledger --format html --output "$RUN/hazard-ledger.html" 2>&1 | sed 's/^/  /'
"$BIN/meltwatch" hazards export --config config/demo.yaml --form weekly --format csv --output "$RUN/hazard-weekly.csv" 2>&1 | sed 's/^/  /'
"$BIN/meltwatch" hazards list --config config/demo.yaml 2>&1 | sed 's/^/  /'
step "demo done. Daemon log: $RUN/meltwatch.log"
