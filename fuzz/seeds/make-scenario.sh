#!/bin/sh
# Writes fuzz/seeds/scenario/ again: every scenario the integration tests write (good and bad;
# `CAPSIM_FUZZ_SEEDS` makes tests/integration/support.rs keep a copy of each), those over 16 KB
# dropped, reduced by libFuzzer's merge to the ones that add coverage, beside the hand-written
# seeds (named in words, not by a hash): trace-*.seed (a scenario and, after a line `#%file`,
# the trace file it names) and grid-*.seed (the messages of [sweep] and [plan] tables).
# Run from the repository root; needs the nightly toolchain and cargo-fuzz. Takes about three
# minutes (the integration tests).
set -e
tmp=$(mktemp -d)
CAPSIM_FUZZ_SEEDS="$tmp" cargo test --release --test integration >/dev/null
find "$tmp" -type f -size +16k -delete
cargo +nightly fuzz build -O scenario
find fuzz/seeds/scenario -regextype posix-extended -regex '.*/[0-9a-f]{40}\.seed' -delete
# What the shipped scenarios and the hand-written seeds reach first (they are seeds already),
# then the tests' scenarios that reach more.
kept=$(mktemp -d)
cp fuzz/seeds/scenario/*.seed "$kept"/
fuzz/target/x86_64-unknown-linux-gnu/release/scenario -merge=1 "$kept" scenarios 2>/dev/null
ls "$kept" > "$kept.before"
fuzz/target/x86_64-unknown-linux-gnu/release/scenario -merge=1 "$kept" "$tmp" 2>/dev/null
for f in $(ls "$kept" | grep -vxF -f "$kept.before"); do
    cp "$kept/$f" "fuzz/seeds/scenario/$f.seed"
done
rm -rf "$tmp" "$kept" "$kept.before"
