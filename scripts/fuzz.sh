#!/usr/bin/env bash
# `make fuzz`: builds the spec loader's libFuzzer target with clang, ASan and UBSan, and runs
# it for a bounded time (FUZZ_SECONDS, default 120) from a seed corpus of every example and
# every malformed spec. Prints libFuzzer's final statistics; fails on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz-out
seconds=${FUZZ_SECONDS:-120}
mkdir -p "$out/corpus" "$out/crashes"

clang++ -std=c++20 -O1 -g -pthread -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I. fuzz/spec_loader_fuzz.cpp specs/*.cpp -lyaml-cpp -o "$out/spec_loader_fuzz"

for f in examples/*/*.yaml tests/specs/invalid/*/*.yaml; do
  size=$(stat -c %s "$f")
  [[ $size -le 65536 ]] && cp "$f" "$out/corpus/$(echo "$f" | tr '/' '_')"
done

echo "fuzzing the spec loader for ${seconds}s"
status=0
"$out/spec_loader_fuzz" "$out/corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$out/crashes/" 2>&1 | tee "$out/fuzz.log" | \
  grep -E "^#[0-9]+ +(INITED|DONE)|stat::|ERROR|SUMMARY|crash-|timeout-|oom-" || true
status=${PIPESTATUS[0]}
crashes=$(find "$out/crashes" -type f | wc -l)
execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/fuzz.log" | awk '{print $2}' | tail -1)
echo "fuzz: ${execs:-0} executions in ${seconds}s, ${crashes} crashing inputs"
[[ $status -eq 0 && $crashes -eq 0 ]]
