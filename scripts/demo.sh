#!/usr/bin/env bash
# `make demo`: the product end to end on this machine. Starts the emulator (the local Tencent
# Cloud) with the default world on a free loopback port, plans and applies
# examples/quickstart/ (two read-only replicas in a read-only group, and a serverless
# instance), shows that a second plan has no changes, and stops the emulator.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build"
work=$(mktemp -d /tmp/reconciler-demo-XXXXXX)
emulator_pid=""
cleanup() {
  [[ -n "$emulator_pid" ]] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "starting tcloud-emulator with worlds/default.yaml"
"$bin/tcloud-emulator" --world "$root/emulator/worlds/default.yaml" \
  --listen 127.0.0.1:0 >"$work/emulator.url" 2>"$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 100); do [[ -s "$work/emulator.url" ]] && break; sleep 0.1; done
url=$(head -n1 "$work/emulator.url")
[[ -n "$url" ]] || { echo "the emulator did not start:"; cat "$work/emulator.log"; exit 1; }
echo "listening on $url"

# The demo key pair of the default world; it opens nothing but this emulator.
export TENCENTCLOUD_SECRET_ID=AKIDEMULATORDEMOKEY0000000000000001
export TENCENTCLOUD_SECRET_KEY=emulator-demo-secret-key-0000000001
export TENCENTCLOUD_ENDPOINT="$url"

cp -r "$root/examples/quickstart" "$work/quickstart"
cd "$work/quickstart"

step "reconciler validate"
"$bin/reconciler" validate

step "reconciler plan   (every purchase checked with DryRun and priced)"
"$bin/reconciler" plan

step "reconciler apply --auto-approve   (each order followed until its instances run)"
"$bin/reconciler" apply --auto-approve

step "reconciler plan --detailed-exitcode   (again: nothing left to do)"
status=0
"$bin/reconciler" plan --detailed-exitcode || status=$?
echo "exit code: $status (0 means no changes)"

step "reconciler state list"
"$bin/reconciler" state list

[[ $status -eq 0 ]]
