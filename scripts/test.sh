#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, builds, and runs every
# test (unit, real-broker, end-to-end); then the suite again under ThreadSanitizer and under
# AddressSanitizer — every unit suite, the daemon-level integration suites and a representative set of
# end-to-end scenarios (the daemons and simulators the tests start are built with the same sanitizer;
# every report from any process fails the run); then a short run of each fuzz target (Fuzz/,
# scripts/fuzz.sh). About 40 minutes on 2 cores; each step's heading shows the minutes so far.
#
#   bash scripts/test.sh              # everything
#   SKIP_TSAN=1 bash scripts/test.sh  # without the ThreadSanitizer pass (a second full build)
#   SKIP_ASAN=1 bash scripts/test.sh  # without the AddressSanitizer pass (a third full build)
#   SKIP_FUZZ=1 bash scripts/test.sh  # without the short libFuzzer run (scripts/fuzz.sh 15)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_packages chromium chromium-driver fonts-noto-cjk systemd faketime iproute2 nodejs
swift --version | head -1

step "systemd unit: exposure ≤ 2.0 (systemd-analyze security --offline=yes)"
systemd-analyze security --offline=yes --threshold=20 systemd/meltwatch.service | tail -1

step "duty console: the page, stylesheet and script as files, linted (node --check, no inline script or style)"
python3 scripts/lint-console.py

step "build (debug, with tests)"
swift build --build-tests

step "install script, staged: layout, credentials, upgrade, the shipped broker config and ACLs on a real mosquitto"
bash scripts/check-install.sh "$(swift build --show-bin-path)"

# The end-to-end scenarios each start their own broker, daemon, simulator and receiver on free ports
# and mostly wait; they play a few at a time (ScenarioEndToEndTests.admission) under --parallel. Every
# other suite runs serially, so timing-sensitive broker tests do not compete for the 2 cores.
scenarios=ScenarioEndToEndTests

step "swift test: every suite but the end-to-end scenarios, serially"
swift test --skip-build --no-parallel --skip "$scenarios"

step "swift test: every simulator scenario end to end, three at a time"
swift test --skip-build --parallel --filter "$scenarios"

# The suite under a sanitizer, in its own build directory. Reports from every process (the test
# runner, and each daemon and simulator a test starts) go to files in one directory; any file there
# fails the step, and its report is printed. What a sanitizer can find is in code that runs threads or
# touches memory by hand; long single-threaded logic tables (the plant models over hours, every
# scenario through the engine, random schedule streams) only run 5-15 times slower under it, so they
# are left to the plain pass, and so are the shards (two more daemons on the paths the other
# integration suites cover). The end-to-end scenarios play a representative subset
# (ScenarioEndToEndTests.sanitizerScenarios) two at a time.
# The clock-step (libfaketime preloaded into the daemon) and network-partition (a 40 s cut between
# network namespaces) tests are about time and the link, not memory or threads, and mostly wait; the flood soak measures memory and rates over two minutes of real time.
sanitizer_skip="$scenarios|PlantModelTests|ScenarioEngineTests|EngineHealthScheduleTests|ShardTests|ClockStepTests|PartitionTests|FloodSoakTests"
sanitized_suite() {
  local sanitizer=$1 name=$2 scratch=$3 reports
  reports=$(mktemp -d /tmp/meltwatch-"$sanitizer".XXXXXX)
  local status=0
  run_sanitized() {
    env TSAN_OPTIONS="log_path=$reports/report second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
        ASAN_OPTIONS="log_path=$reports/report ${ASAN_OPTIONS:-}" \
        LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}" \
        swift test --sanitize="$sanitizer" --scratch-path "$scratch" "$@"
  }
  run_sanitized --no-parallel --skip "$sanitizer_skip" || status=$?
  if [ "$status" -eq 0 ]; then
    run_sanitized --skip-build --parallel --filter "$scenarios" || status=$?
  fi
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
  step "swift test --sanitize=thread: unit and integration suites, six scenarios, under ThreadSanitizer"
  sanitized_suite thread ThreadSanitizer .build-tsan
fi

if [ "${SKIP_ASAN:-0}" != "1" ]; then
  step "swift test --sanitize=address: unit and integration suites, six scenarios, under AddressSanitizer and LeakSanitizer"
  sanitized_suite address AddressSanitizer .build-asan
fi

if [ "${SKIP_FUZZ:-0}" != "1" ]; then
  step "fuzzing: payload decoder, the four gateway formats, config loader, journal reader, 15 s each (libFuzzer + ASan)"
  # Replays the committed corpus and every past crash (Fuzz/regressions), then mutates for 15 s.
  bash scripts/fuzz.sh 15
fi
step "all tests passed"
