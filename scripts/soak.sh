#!/usr/bin/env bash
# `make soak`: the crash harness (tests/attacks/crash_harness_test.cpp) for many trials.
# Each trial applies a stack as a real process, SIGKILLs it at seeded moments, reruns it until
# it converges and audits the emulated account. The trials are split over the harness's three
# cases, which run side by side; the totals are summed from the line each case prints.
#
#   RECONCILER_SOAK_TRIALS  trials in all (default 500)
#   RECONCILER_SOAK_SEED    first seed of every case (default: the time, printed)
#
# A failing trial prints its seed and the command that reruns it alone. Exits 1 on any
# failure, duplicate or orphan.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
binary=$build/reconciler_tests
trials=${RECONCILER_SOAK_TRIALS:-500}
seed=${RECONCILER_SOAK_SEED:-$(date +%s)}
cases=(
  "crash harness: random kills during apply of postpaid and prepaid replicas"
  "crash harness: random kills during apply of a group with its replicas and a serverless instance"
  "crash harness: random kills during apply on the China site"
)
[[ -x $binary ]] || { echo "soak: $binary is not built" >&2; exit 1; }
per=$(((trials + ${#cases[@]} - 1) / ${#cases[@]}))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "soak: $((per * ${#cases[@]})) trials ($per per case) from seed $seed"
start=$(date +%s)
pids=()
for i in "${!cases[@]}"; do
  RECONCILER_CRASH_TRIALS=$per RECONCILER_CRASH_SEED=$seed \
    "$binary" "--test-case=${cases[$i]}" >"$out/$i.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || status=1
done
elapsed=$(($(date +%s) - start))

for i in "${!cases[@]}"; do
  grep -h "^crash-harness totals:" "$out/$i.log" || { echo "soak: case '${cases[$i]}' printed no totals:"; tail -n 40 "$out/$i.log"; status=1; }
  if grep -q "crash trial failed" "$out/$i.log"; then
    grep -h -A 2 "crash trial failed" "$out/$i.log"
  fi
done
# Sums every key=value field of the totals lines.
totals=$(cat "$out"/*.log | grep "^crash-harness totals:" | awk '
  { for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[2] ~ /^[0-9]+$/) sum[kv[1]] += kv[2] }
  END {
    printf "trials %d, runs %d, kills %d, duplicates %d, orphans %d, dangling %d, mismatches %d, failed %d",
      sum["trials"], sum["runs"], sum["kills"], sum["duplicates"], sum["orphans"], sum["dangling"], sum["mismatches"], sum["failed"]
  }')
echo "soak: $totals in ${elapsed}s (seed $seed)"
[[ $status -eq 0 ]] || echo "soak: FAILED; rerun a failing trial with the command printed above" >&2
exit $status
