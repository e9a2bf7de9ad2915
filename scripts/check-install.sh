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
"$stage/usr/local/bin/meltwatch" check --config config/meltwatch.example.yaml >/dev/null || fail "the installed binary rejects the example config"
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
