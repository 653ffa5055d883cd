#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of fuzz/ with clang, ASan and UBSan (a CMake
# build in fuzz-out/build with RECONCILER_FUZZ=ON), and runs each for a bounded time
# (FUZZ_SECONDS per target, default 120) from its seed corpus:
#   spec_loader_fuzz   the spec loader: every example and every malformed spec;
#   api_response_fuzz  the API-response parsers behind the transport: the emulator's real
#                      answers (fuzz/corpus/api_response, fuzz/record_api_seeds.sh);
#   plan_file_fuzz     the plan-file reader: plans saved by `reconciler plan --out`
#                      (fuzz/corpus/plan_file, fuzz/record_plan_seeds.sh).
# A target's dictionary, fuzz/NAME.dict, holds the strings its parser knows. Inputs that
# once crashed (fuzz/regressions/TARGET/) are run first. Prints each target's
# executions and crashing inputs; fails on any crash. FUZZ_TARGETS picks targets.
set -uo pipefail
cd "$(dirname "$0")/.."
out=fuzz-out
seconds=${FUZZ_SECONDS:-120}
targets=${FUZZ_TARGETS:-"spec_loader_fuzz api_response_fuzz plan_file_fuzz"}
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

generator=$(command -v ninja >/dev/null && echo Ninja || echo "Unix Makefiles")
if [[ ! -f $out/build/CMakeCache.txt ]]; then
  cmake -S . -B "$out/build" -G "$generator" -DCMAKE_CXX_COMPILER=clang++ -DRECONCILER_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" "-DCMAKE_CXX_FLAGS=$flags" \
    "${launcher[@]}" >/dev/null || exit 1
fi
# shellcheck disable=SC2086
cmake --build "$out/build" -j "${JOBS:-$(nproc)}" --target $targets || exit 1

seed_corpus() {
  local target=$1 dir=$out/corpus/$1 f size
  mkdir -p "$dir"
  case $target in
    spec_loader_fuzz)
      for f in examples/*/*.yaml tests/specs/invalid/*/*.yaml; do
        size=$(stat -c %s "$f")
        [[ $size -le 65536 ]] && cp "$f" "$dir/$(echo "$f" | tr '/' '_')"
      done
      ;;
    api_response_fuzz) cp fuzz/corpus/api_response/* "$dir/" ;;
    plan_file_fuzz) cp fuzz/corpus/plan_file/* "$dir/" ;;
  esac
}

status=0
summary=""
for target in $targets; do
  bin=$out/build/$target
  crashes=$out/crashes/$target
  rm -rf "$crashes"
  mkdir -p "$crashes"
  seed_corpus "$target"
  log=$out/$target.log
  if [[ -d fuzz/regressions/$target ]] && compgen -G "fuzz/regressions/$target/*" >/dev/null; then
    if ! "$bin" fuzz/regressions/"$target"/* >"$out/$target.regressions.log" 2>&1; then
      echo "$target: an input that once crashed crashes again:"
      tail -n 30 "$out/$target.regressions.log"
      status=1
    fi
  fi
  dict=()
  [[ -f fuzz/${target%_fuzz}.dict ]] && dict=(-dict="fuzz/${target%_fuzz}.dict")
  echo "fuzzing $target for ${seconds}s"
  "$bin" "$out/corpus/$target" "${dict[@]}" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1
  rc=$?
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|ERROR|SUMMARY|crash-|timeout-|oom-|leak-" "$log" | head -n 20
  found=$(find "$crashes" -type f | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  line="$target: ${execs:-0} executions in ${seconds}s, $found crashing inputs"
  echo "fuzz: $line"
  summary+="  $line"$'\n'
  [[ $rc -eq 0 && $found -eq 0 ]] || status=1
done
echo "fuzz summary:"
printf '%s' "$summary"
exit $status
