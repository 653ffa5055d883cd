#!/usr/bin/env bash
# Installs the Debian packages the build, tests and demo need, and nothing else.
# Idempotent: when every package is present it only asks dpkg and makes no network call.
# Works as root, or as a user through sudo.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config make
  libssl-dev libcurl4-openssl-dev libyaml-cpp-dev libyaml-dev nlohmann-json3-dev libfmt-dev
  doctest-dev libcpp-httplib-dev libcli11-dev libsqlite3-dev sqlite3 zlib1g-dev
  libgit2-dev libsystemd-dev git help2man
)
# Extra sets, asked for by name: `setup.sh fuzz` adds clang's libFuzzer runtime; `setup.sh
# test` adds what the tests check the daemon with, none of it ours: Chromium (the status
# page) and the Prometheus client's text parser (/metrics).
for extra in "$@"; do
  case "$extra" in
    fuzz) packages+=(clang libclang-rt-14-dev) ;;
    test) packages+=(chromium python3-prometheus-client) ;;
    *) echo "setup.sh: unknown extra '$extra' (known: fuzz, test)" >&2; exit 3 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# Node.js may come from another repository that bundles npm (nodesource), so look for
# the commands rather than Debian's package names.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
    # The package lists may be stale on a fresh machine; refresh once and retry.
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

# The JSON Schema agreement test validates with ajv, an implementation independent of ours.
here=$(cd "$(dirname "$0")/.." && pwd)
if [[ ! -d "$here/tools/schema-check/node_modules/ajv" || ! -d "$here/tools/schema-check/node_modules/yaml" ]]; then
  echo "setup: installing the schema checker's npm packages"
  (cd "$here/tools/schema-check" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The SDK conformance check (tools/sdk-conformance) reads the official Tencent Cloud Node SDKs'
# request models and calls the emulator through their CommonClient. Reinstalled only when the
# lock file differs from the one last installed.
sdk="$here/tools/sdk-conformance"
if ! cmp -s "$sdk/package-lock.json" "$sdk/node_modules/.installed-package-lock.json" 2>/dev/null; then
  echo "setup: installing the SDK conformance check's npm packages (the official Tencent Cloud Node SDKs)"
  (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$sdk/package-lock.json" "$sdk/node_modules/.installed-package-lock.json"
fi
