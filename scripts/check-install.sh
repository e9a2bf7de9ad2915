#!/usr/bin/env bash
# Checks what scripts/install.sh installs, staged in a temporary directory: the layout, the
# credentials (0600, kept on a second run), the units' exposure, and the shipped broker
# configuration against a real mosquitto on a free loopback port — no anonymous client, the
# `meltwatch` user reads every plant, a gateway user publishes for its own plant only.
#
#   bash scripts/check-install.sh BINARIES_DIR      # e.g. "$(swift build --show-bin-path)"
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: check-install.sh BINARIES_DIR}
stage=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${KEEP_STAGE:-}" ] || rm -rf "$stage"
}
trap cleanup EXIT
fail() { echo "check-install: $*" >&2; exit 1; }

bash scripts/install.sh --destdir "$stage" --binaries "$bin" --with-broker >/dev/null 2>&1 || fail "install.sh failed"
for f in usr/local/bin/meltwatch usr/local/bin/meltwatch-sim etc/systemd/system/meltwatch.service \
         etc/systemd/system/meltwatch-sim@.service etc/meltwatch/meltwatch.yaml etc/mosquitto/conf.d/meltwatch.conf \
         etc/mosquitto/meltwatch.acl etc/mosquitto/meltwatch.passwd; do
  [ -e "$stage/$f" ] || fail "$f not installed"
done
for c in mqtt.password sim.password duty.secret duty.tokens; do
  [ "$(stat -c %a "$stage/etc/meltwatch/credentials/$c")" = 600 ] || fail "credential $c is not 0600"
done
before=$(cat "$stage/etc/meltwatch/credentials/duty.secret")
echo "# edited by the site" >> "$stage/etc/meltwatch/meltwatch.yaml"
bash scripts/install.sh --destdir "$stage" --binaries "$bin" >/dev/null 2>&1 || fail "second install.sh failed"
[ "$(cat "$stage/etc/meltwatch/credentials/duty.secret")" = "$before" ] || fail "an upgrade replaced a credential"
grep -q "edited by the site" "$stage/etc/meltwatch/meltwatch.yaml" || fail "an upgrade replaced the config"
# The example config as installed names the credentials systemd hands the service; check it with the
# staged credentials in their place.
creds_run="$stage/run/credentials/meltwatch.service"
install -d -m 0755 "$stage/run" "$stage/run/credentials"
install -d -m 0700 "$creds_run"
for c in mqtt.password duty.secret duty.tokens; do install -m 0400 "$stage/etc/meltwatch/credentials/$c" "$creds_run/$c"; done
[ "$(stat -c %a "$stage/etc/meltwatch/meltwatch.yaml")" = 644 ] || fail "the config is not installed 0644 (the service's dynamic user must read it)"
sed "s|/run/credentials/meltwatch.service|$creds_run|g" "$stage/etc/meltwatch/meltwatch.yaml" > "$stage/check.yaml"
"$stage/usr/local/bin/meltwatch" check --config "$stage/check.yaml" >/dev/null || fail "the installed binary rejects the installed example config: $("$stage/usr/local/bin/meltwatch" check --config "$stage/check.yaml" 2>&1 | tail -5)"
for unit in meltwatch.service meltwatch-sim@.service; do
  systemd-analyze security --offline=yes --threshold=20 "$stage/etc/systemd/system/$unit" >/dev/null || fail "$unit exposure above 2.0"
done
echo "  layout, credentials (0600, kept on upgrade), config kept on upgrade, units' exposure ≤ 2.0: ok"

# The broker config as installed, on a free port, its files in the stage.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
passwd="$stage/etc/mosquitto/meltwatch.passwd"
mosquitto_passwd -b "$passwd" baotou-steel gateway-secret
chmod 0600 "$passwd"
if [ "$(id -u)" -eq 0 ] && id mosquitto >/dev/null 2>&1; then
  # Started as root, mosquitto drops to its own user, which must reach and read its files.
  chmod 0755 "$stage" "$stage/etc" "$stage/etc/mosquitto"
  chown mosquitto "$passwd" "$stage/etc/mosquitto/meltwatch.acl"
fi
sed -e "s|^listener 1883 127.0.0.1|listener $port 127.0.0.1|" -e "s|/etc/mosquitto/|$stage/etc/mosquitto/|g" \
  "$stage/etc/mosquitto/conf.d/meltwatch.conf" > "$stage/broker.conf"
echo "persistence false" >> "$stage/broker.conf"
mosquitto -c "$stage/broker.conf" >"$stage/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
mqtt=(-h 127.0.0.1 -p "$port" -q 1)
reader=(-u meltwatch -P "$(cat "$stage/etc/meltwatch/credentials/mqtt.password")")

if mosquitto_pub "${mqtt[@]}" -t plants/baotou-steel/x/y -m anonymous 2>/dev/null; then fail "an anonymous client may publish"; fi
if mosquitto_pub "${mqtt[@]}" -u meltwatch -P wrong -t plants/baotou-steel/x/y -m wrong 2>/dev/null; then fail "a wrong password is accepted"; fi
mosquitto_sub "${mqtt[@]}" "${reader[@]}" -t 'plants/#' -v -W 5 >"$stage/received" 2>&1 &
sub=$!
pids+=($sub)
sleep 0.5
mosquitto_pub "${mqtt[@]}" -u baotou-steel -P gateway-secret -t plants/baotou-steel/co-1/co -m own-plant
mosquitto_pub "${mqtt[@]}" -u baotou-steel -P gateway-secret -t plants/nantong-aluminium/cast1/cooling_flow -m other-plant || true
sleep 1
kill "$sub" 2>/dev/null || true
grep -q "plants/baotou-steel/co-1/co own-plant" "$stage/received" || fail "the meltwatch user did not receive its own gateway's reading: $(cat "$stage/received")"
if grep -q other-plant "$stage/received"; then fail "a gateway published for another plant"; fi
echo "  broker: anonymous and wrong passwords refused, meltwatch reads plants/#, a gateway publishes for its own plant only: ok"

# ---- The installed layout, run for real: as an unprivileged user (nobody, standing in for the
# unit's DynamicUser) with the unit's file permissions — the config 0644 root-owned, the credentials
# 0400 its own, the state directory its own — against the shipped broker config with its ACLs. The
# daemon must pass its ExecStartPre check, become ready, read a gateway's CO reading and deliver a
# signed alarm to the duty endpoint.
if [ "$(id -u)" -eq 0 ]; then
  runas=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  owner=nobody
else
  runas=()
  owner=$(id -un)
fi
chmod 0755 "$stage" "$stage/etc" "$stage/etc/meltwatch"
chown -R "$owner" "$creds_run"
state="$stage/var/lib/meltwatch"
install -d -m 0755 "$stage/var" "$stage/var/lib"
install -d -m 0700 "$state"
chown "$owner" "$state"
duty_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hook_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${runas[@]}" cat "$stage/etc/meltwatch/meltwatch.yaml" >/dev/null || fail "the service user cannot read the installed config"
# The installed config, its paths and ports moved into the stage (same owner and mode as installed).
sed -e "s|/run/credentials/meltwatch.service|$creds_run|g" -e "s|/var/lib/meltwatch|$state|g" \
    -e "s|mqtt://127.0.0.1:1883|mqtt://127.0.0.1:$port|" -e "s|listen: 127.0.0.1:8080|listen: 127.0.0.1:$duty_port|" \
    -e "s|http://127.0.0.1:9000/alarms|http://127.0.0.1:$hook_port/alarms|" \
    "$stage/etc/meltwatch/meltwatch.yaml" > "$stage/etc/meltwatch/run.yaml"
chmod 0644 "$stage/etc/meltwatch/run.yaml"
python3 -u scripts/duty-receiver.py "$hook_port" "$stage/etc/meltwatch/credentials/duty.secret" >"$stage/receiver.log" 2>&1 &
pids+=($!)
"${runas[@]}" "$stage/usr/local/bin/meltwatch" check --config "$stage/etc/meltwatch/run.yaml" >"$stage/check.log" 2>&1 \
  || fail "ExecStartPre (meltwatch check) fails as the service user: $(tail -5 "$stage/check.log")"
"${runas[@]}" "$stage/usr/local/bin/meltwatch" run --config "$stage/etc/meltwatch/run.yaml" >"$stage/daemon.log" 2>&1 &
daemon=$!
pids+=($daemon)
ready=0
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$duty_port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.2
done
[ "$ready" = 1 ] || fail "the installed daemon did not become ready: $(tail -20 "$stage/daemon.log"; curl -sS "http://127.0.0.1:$duty_port/readyz" 2>&1)"
for _ in 1 2 3; do
  mosquitto_pub "${mqtt[@]}" -u baotou-steel -P gateway-secret -t plants/baotou-steel/co-converter-deck/co \
    -m "{\"ts\":$(date +%s%3N),\"v\":80}"
  sleep 0.3
done
delivered=0
for _ in $(seq 1 100); do
  if grep -q "baotou-steel/co-converter-deck co-level-1" "$stage/receiver.log" && grep -q "(signature ok)" "$stage/receiver.log"; then delivered=1; break; fi
  sleep 0.2
done
[ "$delivered" = 1 ] || fail "no signed alarm reached the duty endpoint: receiver: $(tail -5 "$stage/receiver.log"); daemon: $(tail -20 "$stage/daemon.log")"
if grep -q REJECTED "$stage/receiver.log"; then fail "the duty endpoint rejected a signature"; fi
kill -TERM "$daemon"
wait "$daemon" || fail "the installed daemon did not stop cleanly on SIGTERM: $(tail -10 "$stage/daemon.log")"
echo "  installed layout run as $owner: check passes, ready, reads its gateway through the ACL broker, delivers a signed alarm: ok"
