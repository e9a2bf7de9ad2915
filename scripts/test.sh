#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, builds, and runs every
# test (unit, real-broker, end-to-end); then the whole suite again under ThreadSanitizer and under
# AddressSanitizer (the daemons and simulators the tests start are built with the same sanitizer;
# every report from any process fails the run); then a short run of each fuzz target (Fuzz/,
# scripts/fuzz.sh).
#
#   bash scripts/test.sh              # everything (~1 h on 2 cores)
#   SKIP_TSAN=1 bash scripts/test.sh  # without the ThreadSanitizer pass (a second full build)
#   SKIP_ASAN=1 bash scripts/test.sh  # without the AddressSanitizer pass (a third full build)
#   SKIP_FUZZ=1 bash scripts/test.sh  # without the short libFuzzer run (scripts/fuzz.sh 20)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_packages chromium chromium-driver fonts-noto-cjk systemd
swift --version | head -1

step "systemd unit: exposure ≤ 2.0 (systemd-analyze security --offline=yes)"
systemd-analyze security --offline=yes --threshold=20 systemd/meltwatch.service | tail -1

step "build (debug, with tests)"
swift build --build-tests

step "install script, staged: layout, credentials, upgrade, the shipped broker config and ACLs on a real mosquitto"
bash scripts/check-install.sh "$(swift build --show-bin-path)"

step "swift test"
# Tests start their own mosquitto on 127.0.0.1 on free ports; run serially so timing-sensitive
# broker tests do not compete for the 2 cores.
swift test --skip-build --no-parallel

# The whole suite under a sanitizer, in its own build directory. Reports from every process (the
# test runner, and each daemon and simulator a test starts) go to files in one directory; any file
# there fails the step, and its report is printed. Under a sanitizer the end-to-end scenario test
# plays a representative subset of the scenarios (ScenarioEndToEndTests.sanitizerScenarios).
sanitized_suite() {
  local sanitizer=$1 name=$2 scratch=$3 reports
  reports=$(mktemp -d /tmp/meltwatch-"$sanitizer".XXXXXX)
  local status=0
  env TSAN_OPTIONS="log_path=$reports/report second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
      ASAN_OPTIONS="log_path=$reports/report ${ASAN_OPTIONS:-}" \
      LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}" \
      swift test --sanitize="$sanitizer" --scratch-path "$scratch" --no-parallel || status=$?
  local found
  found=$(find "$reports" -type f | sort)
  if [ -n "$found" ]; then
    for f in $found; do printf '\n--- %s report %s\n' "$name" "$f" >&2; cat "$f" >&2; done
    echo "$name reported problems ($(echo "$found" | wc -l) report files in $reports)" >&2
    exit 1
  fi
  rm -rf "$reports"
  [ "$status" -eq 0 ] || { echo "swift test --sanitize=$sanitizer failed (exit $status)" >&2; exit "$status"; }
  echo "$name: no reports" >&2
}

if [ "${SKIP_TSAN:-0}" != "1" ]; then
  step "swift test --sanitize=thread: the whole suite under ThreadSanitizer"
  sanitized_suite thread ThreadSanitizer .build-tsan
fi

if [ "${SKIP_ASAN:-0}" != "1" ]; then
  step "swift test --sanitize=address: the whole suite under AddressSanitizer and LeakSanitizer"
  sanitized_suite address AddressSanitizer .build-asan
fi

if [ "${SKIP_FUZZ:-0}" != "1" ]; then
  step "fuzzing: payload decoder, config loader, journal reader, 20 s each (libFuzzer + ASan)"
  # Replays the committed corpus and every past crash (Fuzz/regressions), then mutates for 20 s.
  bash scripts/fuzz.sh 20
fi
step "all tests passed"
