#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang 14, ASan + UBSan) and runs each for a while.
#
#   scripts/fuzz.sh [--seconds N] [--merge] [--no-build] [target...]
#
# Targets: fuzz_webhook fuzz_http_request fuzz_config fuzz_template (default: all; FUZZ_PARALLEL at a time,
# default one per core).
# Each runs N seconds (default 30) on a copy of its committed corpus, tests/fuzz/corpus/<target>, in
# build/fuzz/corpus-work/<target> (new inputs land there; the committed corpus is only read), with the
# dictionary tests/fuzz/<target>.dict when there is one. Crashes, leaks, timeouts (-timeout=10) and
# out-of-memory (-rss_limit_mb=2048) are written to build/fuzz/artifacts/<target>/ and make the script exit 1;
# reproduce one with `build/fuzz/tests/fuzz/<target> <file>`. Each run's log goes to build/fuzz/logs/. Per target
# it prints execs, exec/s, coverage (cov: edges, ft: features) and the corpus size.
#
# --merge   after the runs, minimise what the runs found into the committed corpus (libFuzzer -merge=1: only
#           inputs that add coverage are copied, named by their SHA-1). For developers; CI never merges.
#           `--seconds 0 --merge` merges what earlier runs left in corpus-work without fuzzing again.
# --no-build  use the binaries already in build/fuzz.
# FUZZ_JOBS (default 2) is the build's -j; FUZZ_NICE (default 10) the runs' nice level.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(fuzz_webhook fuzz_http_request fuzz_config fuzz_template)
seconds=30
merge=0
build=1
targets=()
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }; seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; [[ "$seconds" =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }; shift ;;
    --merge) merge=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *)
      [[ " ${all_targets[*]} " == *" $1 "* ]] || { echo "fuzz.sh: unknown target $1 (have: ${all_targets[*]})" >&2; exit 2; }
      targets+=("$1"); shift ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

build_dir=build/fuzz
bin_dir="$build_dir/tests/fuzz"
if [[ $build -eq 1 ]]; then
  mkdir -p "$build_dir"
  cmake --preset fuzz >"$build_dir/configure.log" 2>&1 || { cat "$build_dir/configure.log" >&2; exit 1; }
  # All targets: their common aggregate, so that make builds them in one run, in parallel.
  build_targets=("${targets[@]}")
  [[ ${#targets[@]} -eq ${#all_targets[@]} ]] && build_targets=(spacehook_fuzzers)
  cmake --build "$build_dir" -j "${FUZZ_JOBS:-2}" --target "${build_targets[@]}"
fi

# Largest input libFuzzer generates, per target: a few KB for texts; the HTTP target needs room for a
# header block over the 16 KiB limit (431) and a pipelined series of signed deliveries.
max_len_for() {
  case "$1" in
    fuzz_http_request) echo 20480 ;;
    fuzz_config) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# One target's run; its summary line goes to $build_dir/logs/<target>.summary. Exit status 1 when it found
# something.
run_one() {
  local t="$1"
  local exe="$bin_dir/$t" seeds="tests/fuzz/corpus/$t" work="$build_dir/corpus-work/$t"
  local artifacts="$build_dir/artifacts/$t"
  local log="$build_dir/logs/$t-$(date +%Y%m%d-%H%M%S)-$$.log"  # one per run: runs may overlap
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  rm -f "$build_dir/logs/$t.summary"
  local max_len; max_len=$(max_len_for "$t")
  cp -n "$seeds"/* "$work"/ 2>/dev/null || true
  local args=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$artifacts/")
  [[ -f "tests/fuzz/$t.dict" ]] && args+=(-dict="tests/fuzz/$t.dict")
  echo "== $t: ${seconds}s, -max_len=$max_len, corpus $work ($(ls "$work" | wc -l) files)"
  local status=0
  # The outer timeout only guards against a run that libFuzzer itself cannot stop.
  timeout --kill-after=10 $((seconds + 120)) nice -n "${FUZZ_NICE:-10}" "$exe" "${args[@]}" "$work" >"$log" 2>&1 \
    || status=$?
  # The log may hold binary bytes (inputs echoed on a crash): grep -a, and the last value of each figure.
  local last cov ft corp execs rate rss line
  last=$(grep -a -E '^#[0-9]+' "$log" | grep -a 'cov:' | tail -n 1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$last")
  # A run killed from outside (the outer timeout, the OOM killer) prints no stat:: lines.
  stat() { grep -a -E "^stat::$1:" "$log" | tail -n 1 | sed -nE 's/.*: *([0-9]+).*/\1/p' || true; }
  execs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  rss=$(stat peak_rss_mb)
  line="$t: ${execs:-?} execs, ${rate:-?} exec/s, cov: ${cov:-?} ft: ${ft:-?}, corpus ${corp:-?} (files/bytes), peak rss ${rss:-?} MB"
  if [[ $status -ne 0 ]]; then
    line="$line -- FAILED (exit $status)"
    { echo "---- $t failed; the end of $log:"; tail -n 60 "$log"; ls -1 "$artifacts" || true; } >&2
  fi
  echo "$line" >"$build_dir/logs/$t.summary"
  echo "$line"
  [[ $status -eq 0 ]]
}

for t in "${targets[@]}"; do
  [[ -x "$bin_dir/$t" ]] || { echo "fuzz.sh: $bin_dir/$t is missing (run without --no-build)" >&2; exit 1; }
done

# FUZZ_PARALLEL targets at a time (default: one per core); each run stays one process.
summary=()
failed=0
if [[ $seconds -gt 0 ]]; then
  parallel="${FUZZ_PARALLEL:-$(nproc)}"
  [[ "$parallel" =~ ^[1-9][0-9]*$ ]] || parallel=1
  declare -A running=()
  for t in "${targets[@]}"; do
    while [[ ${#running[@]} -ge $parallel ]]; do
      wait -n || true
      for pid in "${!running[@]}"; do kill -0 "$pid" 2>/dev/null || { wait "$pid" || failed=1; unset "running[$pid]"; }; done
    done
    run_one "$t" &
    running[$!]="$t"
  done
  for pid in "${!running[@]}"; do wait "$pid" || failed=1; done
  for t in "${targets[@]}"; do
    summary+=("$(cat "$build_dir/logs/$t.summary" 2>/dev/null || echo "$t: no summary -- FAILED")")
  done
fi

if [[ $merge -eq 1 ]]; then
  for t in "${targets[@]}"; do
    seeds="tests/fuzz/corpus/$t"
    before=$(ls "$seeds" | wc -l)
    mkdir -p "$build_dir/logs" "$build_dir/corpus-work/$t"
    "$bin_dir/$t" -merge=1 -max_len="$(max_len_for "$t")" -timeout=10 -rss_limit_mb=2048 "$seeds" \
      "$build_dir/corpus-work/$t" >"$build_dir/logs/$t.merge.log" 2>&1
    echo "$t: merged into $seeds: $before -> $(ls "$seeds" | wc -l) files"
  done
fi

if [[ ${#summary[@]} -gt 0 ]]; then
  echo "== summary (${seconds}s per target)"
  printf '%s\n' "${summary[@]}"
fi
exit $failed
