#!/usr/bin/env bash
# `make bench`: the figures issues 11 and 12 name, printed as one Markdown table and written to
# bench/results.json. QUICK=1: N <= 1,000 and no daemon figures, under a minute.
# RECONCILER_BENCH_ONLY=plan,apply,... runs only those scenarios (see bench/main.cpp).
set -euo pipefail
build=${1:-build}
args=()
if [[ "${QUICK:-0}" == 1 ]]; then args+=(--quick); fi
exec "$build/reconciler-bench" "${args[@]}"
