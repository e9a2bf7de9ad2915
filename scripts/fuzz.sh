#!/usr/bin/env bash
# Fuzzes the stages that read hostile input with libFuzzer and AddressSanitizer (issues 8, 18): the
# gateway payload decoder and each gateway format (Kepware, Neuron, mapped JSON, Sparkplug B), the
# config loader and the journal reader (targets in Fuzz/).
#
#   bash scripts/fuzz.sh [SECONDS] [--merge] [--seeds] [TARGET...]
#
#   SECONDS   how long each target runs (default 60; 0 builds, and with --seeds writes seeds, only)
#   --merge   afterwards, merge the inputs that found new coverage into Fuzz/corpus/TARGET
#             (libFuzzer -merge=1: only inputs that add coverage are kept); without it the
#             committed corpus is only read
#   --seeds   first rewrite the seed inputs (Fuzz/scripts/make-seeds.py, and the journal
#             segments written by the real JournalWriter)
#   TARGET    fuzz-payload, fuzz-config, fuzz-journal, fuzz-kepware, fuzz-neuron, fuzz-json, fuzz-sparkplug (default: all, one after another)
#
# Exits non-zero when a target crashes, trips a sanitizer, leaks, times out or runs out of memory,
# and prints where the input that did it is. Every such input belongs in Fuzz/regressions/TARGET/
# (the runs replay those too) and in a unit test of the module at fault.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

seconds=60
merge=0
seeds=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --merge) merge=1 ;;
    --seeds) seeds=1 ;;
    fuzz-payload|fuzz-config|fuzz-journal|fuzz-kepware|fuzz-neuron|fuzz-json|fuzz-sparkplug) targets+=("$arg") ;;
    ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [--merge] [--seeds] [TARGET...]" >&2; exit 2 ;;
    *) seconds="$arg" ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-payload fuzz-config fuzz-journal fuzz-kepware fuzz-neuron fuzz-json fuzz-sparkplug)

command -v swift >/dev/null 2>&1 || { echo "swift is not on PATH" >&2; exit 1; }

scratch=.build-fuzz
# --sanitize=fuzzer links libFuzzer's main and instruments the C targets (libyaml in Yams, the
# CRC-32C); SwiftPM does not pass it to swiftc when compiling, hence -Xswiftc for the coverage
# instrumentation of the Swift code. Its own scratch path: the normal .build is never touched.
build_flags=(--package-path Fuzz --scratch-path "$scratch" -c release
  --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer)
mkdir -p "$scratch"
for t in "${targets[@]}"; do
  step "build $t (release, libFuzzer + AddressSanitizer)"
  if ! swift build "${build_flags[@]}" --product "$t" >"$scratch/build-$t.log" 2>&1; then
    tail -50 "$scratch/build-$t.log" >&2
    echo "the build of $t failed; log: $scratch/build-$t.log" >&2
    exit 1
  fi
  tail -1 "$scratch/build-$t.log" >&2
done
bin="$scratch/release"

if [ "$seeds" = 1 ]; then
  step "seed corpora"
  python3 Fuzz/scripts/make-seeds.py
  if [ -x "$bin/fuzz-journal" ]; then
    MELTWATCH_FUZZ_WRITE_SEEDS="$PWD/Fuzz/corpus/fuzz-journal" "$bin/fuzz-journal"
  fi
fi

# Crashes are libFuzzer's and ASan's to report: the Swift runtime's backtracer would only get in
# their way (under ASan it even faults while reading the crashed process's memory).
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

[ "$seconds" -gt 0 ] || exit 0   # libFuzzer reads -max_total_time=0 as "no limit"

status=0
summary=()
for t in "${targets[@]}"; do
  run="$scratch/runs/$t"
  rm -rf "$run"
  mkdir -p "$run/new" "$run/artifacts" "Fuzz/regressions/$t"
  dict=()
  [ -f "Fuzz/dict/$t.dict" ] && dict=(-dict="Fuzz/dict/$t.dict")
  step "run $t for ${seconds}s"
  # New inputs go to $run/new; the committed corpus and the regressions are only read.
  set +e
  "$bin/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$run/artifacts/" "${dict[@]}" \
    "$run/new" "Fuzz/corpus/$t" "Fuzz/regressions/$t" >"$run/log" 2>&1
  rc=$?
  set -e
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)" "$run/log" | tail -2 >&2 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$run/log")
  last=$(grep -E "^#[0-9]+[[:space:]]" "$run/log" | grep "cov:" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  if [ $rc -ne 0 ]; then
    status=1
    echo "!! $t FAILED (libFuzzer exit $rc); log: $run/log" >&2
    grep -E "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|Fatal error|SUMMARY" "$run/log" | head -5 >&2 || true
    for a in "$run"/artifacts/*; do
      [ -e "$a" ] || continue
      echo "   input: $a   (reproduce: SWIFT_BACKTRACE=enable=no $bin/$t $a)" >&2
    done
  elif [ "$merge" = 1 ]; then
    step "merge new inputs of $t into Fuzz/corpus/$t"
    before=$(ls "Fuzz/corpus/$t" | wc -l)
    "$bin/$t" -merge=1 "Fuzz/corpus/$t" "$run/new" >"$run/merge.log" 2>&1 || { echo "merge failed: $run/merge.log" >&2; status=1; }
    echo "   corpus: $before -> $(ls "Fuzz/corpus/$t" | wc -l) files" >&2
  fi
  summary+=("$(printf '%-13s %6ss %12s %9s %6s %7s %14s %s' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
    "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")")")
done

step "fuzzing summary"
printf '%-13s %7s %12s %9s %6s %7s %14s %s\n' target time executions exec/s cov ft corpus/bytes result
printf '%s\n' "${summary[@]}"
exit $status
