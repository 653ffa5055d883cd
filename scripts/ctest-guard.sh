#!/usr/bin/env bash
# Registers each doctest case of the test binary as its own CTest test, and runs each one
# so that it fails unless exactly one test case ran.
#
# doctest_discover_tests passed names through CMake lists, which split at ';': a case
# named "a; b" became two CTest tests that matched no case, ran nothing and passed, since
# doctest exits 0 when a filter matches nothing. Here a name never passes through a CMake
# list: it is read line by line and written as a bracket argument, and every test checks
# doctest's own count of the cases it ran.
#
#   ctest-guard.sh discover BINARY WORKDIR OUT   write the CTest file for BINARY's cases
#   ctest-guard.sh run N BINARY ARGS...          run BINARY ARGS; fail unless it exits 0
#                                                having run exactly N test cases
#   ctest-guard.sh count N BINARY                fail unless BINARY has exactly N cases
#   ctest-guard.sh selftest BINARY CTEST_FILE    check the guard, and the CTest file
#                                                discover wrote, against BINARY
set -uo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

die() {
  echo "ctest-guard: $*" >&2
  exit 1
}

# The case names BINARY lists, one per line: the lines between doctest's two rules.
list_cases() {
  local rule='==============================================================================='
  "$1" --list-test-cases | awk -v rule="$rule" '
    $0 == rule { section++; next }
    section == 1 { print }'
  local statuses=("${PIPESTATUS[@]}")
  [[ ${statuses[0]} == 0 ]] || die "$1 --list-test-cases exited with status ${statuses[0]}"
}

# A doctest filter that matches NAME: ',' separates filters and '\' escapes, so both are
# escaped. '*' and '?' are wildcards with no escape; they still match themselves, and a
# name they make ambiguous fails `run` because more than one case runs.
doctest_filter() {
  local name=${1//\\/\\\\}
  printf '%s' "${name//,/\\,}"
}

# Appends each TEXT to `line` as a CMake bracket argument: literal, never split at ';'.
# (A variable, not output, because a subshell per argument makes discovery slow.)
bracket() {
  local text eq closed before
  for text in "$@"; do
    eq=""
    while true; do
      closed="${text}]${eq}]"
      before=${closed%%"]${eq}]"*}
      [[ ${#before} == "${#text}" ]] && break
      eq+="="
    done
    line+=" [$eq[$text]$eq]"
  done
}

# The number after "[doctest] <label>: " in FILE, the last one if several; empty if none.
doctest_number() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | sed -n "s/^\[doctest\] $2: *\([0-9][0-9]*\).*/\1/p" | tail -n 1
}

cmd_discover() {
  [[ $# == 3 ]] || die "usage: discover BINARY WORKDIR OUT"
  local binary=$1 workdir=$2 out=$3 names count=0 name
  names=$(list_cases "$binary") || exit 1
  local tmp="$out.tmp.$$"
  {
    echo "# Written by scripts/ctest-guard.sh discover after each link of the test binary."
    local line filter
    while IFS= read -r name; do
      [[ -n $name ]] || continue
      count=$((count + 1))
      filter=${name//\\/\\\\}  # as doctest_filter, without a subshell
      line="add_test("
      bracket "$name" "$self" run 1 "$binary" "--test-case=${filter//,/\\,}" --case-sensitive=true
      echo "$line)"
      line="set_tests_properties("
      bracket "$name" PROPERTIES WORKING_DIRECTORY "$workdir"
      echo "$line)"
    done <<<"$names"
    # A case this parse missed, or split, shows as a count that differs from doctest's own.
    line="add_test("
    bracket "ctest-guard: every test case has exactly one CTest test" "$self" count "$count" "$binary"
    echo "$line)"
    line="add_test("
    bracket "ctest-guard: self-test" "$self" selftest "$binary" "$out"
    echo "$line)"
    line="set_tests_properties("
    bracket "ctest-guard: self-test" PROPERTIES WORKING_DIRECTORY "$workdir"
    echo "$line)"
  } >"$tmp" || die "cannot write $tmp"
  mv -f "$tmp" "$out"
}

cmd_run() {
  [[ $# -ge 2 ]] || die "usage: run N BINARY ARGS..."
  local expected=$1
  shift
  local log
  log=$(mktemp) || die "mktemp failed"
  # A file, not a pipe: a child the tests leave running cannot hold the output open.
  "$@" >"$log" 2>&1
  local rc=$?
  cat "$log"
  local ran
  ran=$(doctest_number "$log" "test cases")
  rm -f "$log"
  if [[ $rc != 0 ]]; then
    echo "ctest-guard: the test binary exited with status $rc" >&2
    exit "$rc"
  fi
  [[ -n $ran ]] || die "no doctest summary in the output, so no test case is known to have run"
  [[ $ran == "$expected" ]] ||
    die "$ran test cases ran, expected exactly $expected (a doctest filter that matches nothing runs nothing and exits 0)"
  echo "ctest-guard: exactly $expected test case(s) ran"
}

cmd_count() {
  [[ $# == 2 ]] || die "usage: count N BINARY"
  local expected=$1 binary=$2 log have
  log=$(mktemp) || die "mktemp failed"
  "$binary" --count >"$log" 2>&1 || { cat "$log"; rm -f "$log"; die "$binary --count failed"; }
  have=$(doctest_number "$log" "unskipped test cases passing the current filters")
  rm -f "$log"
  [[ $have == "$expected" ]] ||
    die "the binary has ${have:-an unknown number of} test cases but $expected are registered with CTest; rebuild, or fix the names"
  echo "ctest-guard: $have test cases, $expected CTest tests"
}

# Runs `run` and succeeds when its exit status is zero exactly when WANT is "pass", and its
# output contains TEXT.
expect() {
  local want=$1 text=$2
  shift 2
  local out rc
  out=$("$self" run "$@" 2>&1)
  rc=$?
  if [[ ($want == pass && $rc != 0) || ($want == fail && $rc == 0) || $out != *"$text"* ]]; then
    echo "$out"
    die "self-test: 'run $*' should $want and say '$text' (status $rc)"
  fi
  echo "ok: 'run $*' ${want}ed, as it should"
}

cmd_selftest() {
  [[ $# == 2 ]] || die "usage: selftest BINARY CTEST_FILE"
  local binary=$1 ctest_file=$2 names name proved=0
  names=$(list_cases "$binary") || exit 1
  expect fail "0 test cases ran, expected exactly 1" 1 "$binary" "--test-case=ctest-guard: no such test case"
  local first two
  first=$(head -n 2 <<<"$names" | while IFS= read -r name; do printf '%s,' "$(doctest_filter "$name")"; done)
  two=${first%,}
  expect fail "2 test cases ran, expected exactly 1" 1 "$binary" "--test-case=$two" --case-sensitive=true
  # The names CTest itself reads from the file. In a scratch directory, since `ctest -N`
  # in the build directory would overwrite the log of the run this test is part of.
  local scratch registered
  scratch=$(mktemp -d) || die "mktemp failed"
  echo "include([==[$ctest_file]==])" >"$scratch/CTestTestfile.cmake"
  registered=$(cd "$scratch" && ctest -N | sed -n 's/^ *Test *#[0-9]*: //p') || die "ctest -N failed on $ctest_file"
  rm -rf "$scratch"
  while IFS= read -r name; do
    [[ $name == *";"*","* || $name == *","*";"* ]] || continue
    proved=$((proved + 1))
    # The case's own CTest test judges its outcome; this checks only that one case ran.
    local log ran
    log=$(mktemp) || die "mktemp failed"
    "$binary" "--test-case=$(doctest_filter "$name")" --case-sensitive=true >"$log" 2>&1
    ran=$(doctest_number "$log" "test cases")
    rm -f "$log"
    [[ $ran == 1 ]] || die "self-test: the filter for '$name' ran ${ran:-no} test cases, not 1"
    [[ $(grep -cxF -- "$name" <<<"$registered") == 1 ]] || die "self-test: not exactly one CTest test is named '$name'"
    if grep -qxF -- "${name%%;*}" <<<"$registered"; then
      die "self-test: a CTest test is named after the part of '$name' before its first ';'"
    fi
    echo "ok: '$name' is one CTest test and runs exactly one case"
  done <<<"$names"
  [[ $proved -gt 0 ]] || die "self-test: no test case name holds both ';' and ',', so nothing proves they are handled"
}

case "${1:-}" in
  discover | run | count | selftest)
    sub=$1
    shift
    "cmd_$sub" "$@"
    ;;
  *) die "usage: ctest-guard.sh discover|run|count|selftest ..." ;;
esac
