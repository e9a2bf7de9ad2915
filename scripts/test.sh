#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, builds, and runs every
# test (unit, real-broker, end-to-end), then the ring's stress tests again under ThreadSanitizer,
# then a short run of each fuzz target (Fuzz/, scripts/fuzz.sh).
#
#   bash scripts/test.sh            # everything
#   SKIP_TSAN=1 bash scripts/test.sh  # without the ThreadSanitizer pass (saves a second full build)
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

if [ "${SKIP_TSAN:-0}" != "1" ]; then
  step "swift test --sanitize=thread (the lock-free ring's stress tests with real threads)"
  swift test --sanitize=thread --scratch-path .build-tsan --filter MeltWatchRingTests
fi

if [ "${SKIP_FUZZ:-0}" != "1" ]; then
  step "fuzzing: payload decoder, config loader, journal reader, 20 s each (libFuzzer + ASan)"
  # Replays the committed corpus and every past crash (Fuzz/regressions), then mutates for 20 s.
  bash scripts/fuzz.sh 20
fi
step "all tests passed"
