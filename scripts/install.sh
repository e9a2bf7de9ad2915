#!/usr/bin/env bash
# Installs MeltWatch on a Debian machine, or stages the installation in a directory (packaging,
# tests). Upgrade-safe: an existing config or credential is never overwritten; binaries and units are.
#
#   sudo bash scripts/install.sh                  # build, install, systemctl daemon-reload (does not start)
#   sudo bash scripts/install.sh --with-broker    # also mosquitto with the plant config and ACLs
#   bash scripts/install.sh --destdir DIR [--binaries DIR] [--with-broker]   # stage into DIR only
#
# What goes where: /usr/local/bin/meltwatch and meltwatch-sim (built with the Swift standard library
# linked in, so the machine needs libmosquitto1 but no toolchain); /etc/systemd/system/meltwatch.service
# and meltwatch-sim@.service; /etc/meltwatch/meltwatch.yaml (the example, when there is none);
# /etc/meltwatch/credentials/{mqtt.password,duty.secret,duty.tokens,sim.password} (random, 0600, made
# when missing; systemd hands them to the service with LoadCredential=). With --with-broker:
# /etc/mosquitto/conf.d/meltwatch.conf (config/mosquitto/plant.conf without the options Debian's
# mosquitto.conf already sets), /etc/mosquitto/meltwatch.acl, and a `meltwatch` broker user whose
# password is the mqtt.password credential.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

destdir="" binaries="" prefix=/usr/local broker=0
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) destdir=$2; shift 2 ;;
    --binaries) binaries=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --with-broker) broker=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo), or stage with --destdir DIR" >&2
  exit 1
fi

if [ -z "$binaries" ]; then
  ensure_packages
  step "build (release, Swift standard library linked statically; scratch path .build-install)"
  for product in meltwatch meltwatch-sim; do
    swift build -c release --static-swift-stdlib --scratch-path .build-install --product "$product"
  done
  binaries=.build-install/release
fi
for product in meltwatch meltwatch-sim; do
  [ -x "$binaries/$product" ] || { echo "install.sh: $binaries/$product is missing" >&2; exit 1; }
done

root=${destdir%/}
step "binaries → $root$prefix/bin"
install -D -m 0755 "$binaries/meltwatch" "$root$prefix/bin/meltwatch"
install -D -m 0755 "$binaries/meltwatch-sim" "$root$prefix/bin/meltwatch-sim"

step "systemd units → $root/etc/systemd/system"
for unit in meltwatch.service meltwatch-sim@.service; do
  install -D -m 0644 /dev/null "$root/etc/systemd/system/$unit"
  sed "s|/usr/local/bin/|$prefix/bin/|g" "systemd/$unit" > "$root/etc/systemd/system/$unit"
done
install -D -m 0644 README.md "$root/usr/share/doc/meltwatch/README.md"

step "configuration → $root/etc/meltwatch"
install -d -m 0755 "$root/etc/meltwatch" "$root/etc/meltwatch/sim"
if [ -e "$root/etc/meltwatch/meltwatch.yaml" ]; then
  echo "  kept the existing meltwatch.yaml (an upgrade never touches it; check it: meltwatch check --config …)"
  if [ "$(stat -c %a "$root/etc/meltwatch/meltwatch.yaml")" = 640 ] && [ "$(stat -c %U "$root/etc/meltwatch/meltwatch.yaml")" = root ]; then
    # Earlier versions installed it 0640 root:root, which the service's dynamic user cannot read.
    chmod 0644 "$root/etc/meltwatch/meltwatch.yaml"
    echo "  made meltwatch.yaml readable by the service (0644; it holds no secret)"
  fi
else
  # 0644: the config holds no secret (those are credentials), and the service's dynamic user must
  # read it (ExecStartPre=meltwatch check as well as the daemon).
  install -m 0644 config/meltwatch.example.yaml "$root/etc/meltwatch/meltwatch.yaml"
  echo "  installed the example config: set every [site] value before starting (meltwatch check lists the placeholders)"
fi

step "credentials → $root/etc/meltwatch/credentials (0600, made when missing)"
creds="$root/etc/meltwatch/credentials"
install -d -m 0700 "$creds"
made=()
new_secret() {  # file, generator
  [ -e "$creds/$1" ] && return 0
  (umask 077; "$2" > "$creds/$1")
  made+=("$1")
}
random_hex() { openssl rand -hex 32; }
# duty.tokens: one line per operator, `<token> <operator name> [operator|manager]` (contract §5).
random_token() {
  printf '# one line per operator: <token> <operator name> [operator|manager]; the daemon re-reads it on SIGHUP\n'
  printf 'mw-%s 值班长 manager\n' "$(openssl rand -hex 24)"
}
new_secret mqtt.password random_hex
new_secret sim.password random_hex
new_secret duty.secret random_hex
new_secret duty.tokens random_token
if [ ${#made[@]} -gt 0 ]; then echo "  made: ${made[*]}"; else echo "  all present, kept"; fi
if printf '%s\n' "${made[@]:-}" | grep -qx duty.tokens; then
  echo "  the duty room's first operator token, for 值班长 (manager); add one line per operator to $creds/duty.tokens:"
  echo "    $(grep -v '^#' "$creds/duty.tokens" | head -1 | cut -d' ' -f1)"
fi

if [ "$broker" = 1 ]; then
  step "broker: mosquitto with the plant configuration"
  if [ -z "$destdir" ]; then ensure_packages; fi
  install -d -m 0755 "$root/etc/mosquitto/conf.d"
  # Debian's /etc/mosquitto/mosquitto.conf already sets persistence and its location; a second
  # persistence_location is an error, so those two lines are left to it.
  grep -vE '^(persistence|persistence_location) ' config/mosquitto/plant.conf \
    | sed -e 's|^password_file .*|password_file /etc/mosquitto/meltwatch.passwd|' -e 's|^acl_file .*|acl_file /etc/mosquitto/meltwatch.acl|' \
    > "$root/etc/mosquitto/conf.d/meltwatch.conf"
  install -m 0644 config/mosquitto/plant.acl "$root/etc/mosquitto/meltwatch.acl"
  passwd="$root/etc/mosquitto/meltwatch.passwd"
  [ -e "$passwd" ] || (umask 077; : > "$passwd")
  mosquitto_passwd -b "$passwd" meltwatch "$(cat "$creds/mqtt.password")"
  echo "  broker user 'meltwatch' (password: the mqtt.password credential); add one user per plant gateway,"
  echo "  named after its plant id (the ACL confines it to plants/<plant>/#): mosquitto_passwd $passwd <plant-id>"
  if [ -z "$destdir" ] && command -v systemctl >/dev/null 2>&1; then systemctl restart mosquitto || true; fi
fi

if [ -z "$destdir" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  step "installed. Next: edit /etc/meltwatch/meltwatch.yaml, then: systemctl enable --now meltwatch"
else
  step "staged in ${destdir:-/} (no systemd here to reload)"
fi
