#!/usr/bin/env bash
# `make bench`: the figures each issue names, printed as one table.
set -euo pipefail
build=${1:-build}
"$build/reconciler-bench"
