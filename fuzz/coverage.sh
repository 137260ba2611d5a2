#!/usr/bin/env bash
# How much of capsim's own code (src/, not its libraries) the inputs in DIR... reach:
#
#   fuzz/coverage.sh TARGET [--before EPOCH] [--keep FILE.profdata] DIR...
#
# Runs each input once through the instrumented build of TARGET (build it first with
# `cargo +nightly fuzz coverage TARGET SOME_DIR`, which needs llvm-tools: `rustup +nightly
# component add llvm-tools`), merges the profiles and prints the regions and lines of src/
# reached. With --before, only the inputs last written before that time (seconds since
# 1970) count: the corpus as it was when a run started, or at its half, measured after.
# --keep keeps the merged profile, for `llvm-cov show` of the lines never reached.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1
shift
before=""
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --before) before=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: fuzz/coverage.sh TARGET [--before EPOCH] [--keep FILE] DIR..." >&2; exit 2; }
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
binary=target/$host/coverage/$host/release/$target
tools=$(rustc +nightly --print sysroot)/lib/rustlib/$host/bin
[ -x "$binary" ] || { echo "no $binary: run cargo +nightly fuzz coverage $target DIR first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/inputs" "$work/profiles"
for dir in "$@"; do
  if [ -n "$before" ]; then
    find "$dir" -type f ! -newermt "@$before" -exec cp -t "$work/inputs" {} +
  else
    find "$dir" -type f -exec cp -t "$work/inputs" {} +
  fi
done
# -runs=0 runs every input once and mutates nothing; inputs it finds slow are written into
# the working directory, so it runs in the scratch one.
(cd "$work" && LLVM_PROFILE_FILE="$work/profiles/%p.profraw" "$OLDPWD/$binary" -runs=0 inputs > log 2>&1) || true
"$tools/llvm-profdata" merge -sparse "$work"/profiles/*.profraw -o "$work/merged.profdata"
[ -z "$keep" ] || cp "$work/merged.profdata" "$keep"
"$tools/llvm-cov" report "$binary" -instr-profile="$work/merged.profdata" \
  --ignore-filename-regex='(\.cargo|rustc|fuzz_targets)' |
  awk -v t="$target" -v n="$(ls "$work/inputs" | wc -l)" \
    '/^TOTAL/ { printf "%s: %d inputs, %d of %d regions of src/ reached, %d of %d lines\n", t, n, $2 - $3, $2, $8 - $9, $8 }'
