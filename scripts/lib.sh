# Shared helpers for scripts/*.sh (sourced, not run).

# A step's heading, with the minutes since the script started (CI must finish within 90).
step() { printf '\n==> [%d min] %s\n' "$((SECONDS / 60))" "$*" >&2; }

# Installs libmosquitto-dev, zlib, SQLite, mosquitto and the tools the scripts use, when missing; extra Debian
# package names may be given (the tests add chromium and a CJK font for the report screenshot).
ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  dpkg -s libmosquitto-dev >/dev/null 2>&1 || missing+=(libmosquitto-dev)
  dpkg -s zlib1g-dev >/dev/null 2>&1 || missing+=(zlib1g-dev)
  dpkg -s libsqlite3-dev >/dev/null 2>&1 || missing+=(libsqlite3-dev)   # GRDB: the hazard records
  command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
  command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # mosquitto lives in /usr/sbin, which a plain user's PATH may lack.
  case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin" ;; esac
  if ! command -v swift >/dev/null 2>&1; then
    echo "swift is not on PATH: install the Swift 6 toolchain (https://www.swift.org/install/linux/)" >&2
    exit 1
  fi
}
