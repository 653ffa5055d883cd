#!/usr/bin/env bash
# Records the seed corpus of plan_file_fuzz (fuzz/corpus/plan_file/): plans saved by
# `reconciler plan --out` against build/tcloud-emulator on the default world. The example
# stacks as they are (creates of groups, replicas and serverless, prepaid, anchors), then,
# once applied, a plan that updates in place and orphans, and one that destroys. Run it
# again when the plan format changes:
#   fuzz/record_plan_seeds.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
dir=$(pwd)/fuzz/corpus/plan_file
mkdir -p "$dir"
rm -f "$dir"/*
work=$(mktemp -d)
log=$work/emulator.url
"$build/tcloud-emulator" --world emulator/worlds/default.yaml --listen 127.0.0.1:0 >"$log" &
emulator=$!
trap 'kill $emulator 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [[ -s $log ]] && break; sleep 0.1; done
export TENCENTCLOUD_ENDPOINT=$(head -n 1 "$log")
export TENCENTCLOUD_SECRET_ID=AKIDEMULATORDEMOKEY0000000000000001
export TENCENTCLOUD_SECRET_KEY=emulator-demo-secret-key-0000000001
export HOME=/nonexistent NO_COLOR=1

for example in quickstart prepaid anchors; do
  cp -r "examples/$example" "$work/$example"
  (cd "$work/$example" && "$build/reconciler" plan --out "$dir/$example.plan" >/dev/null)
done
cd "$work/quickstart"
"$build/reconciler" apply --auto-approve >/dev/null
# Drift: other tags and one replica fewer (an update in place and an orphan).
sed -i 's/count: 2/count: 1/; s/purpose: reporting/purpose: analytics/' replicas.yaml
"$build/reconciler" plan --out "$dir/quickstart-drift.plan" >/dev/null
# The prepaid replicas (deletionPolicy Delete) applied, then dropped from the specs: destroys.
cd "$work/prepaid"
"$build/reconciler" apply --auto-approve >/dev/null
mv replicas.yaml replicas.yaml.off
"$build/reconciler" plan --allow-destroy --out "$dir/prepaid-destroy.plan" >/dev/null
ls "$dir" | wc -l | xargs echo "recorded plans:"
