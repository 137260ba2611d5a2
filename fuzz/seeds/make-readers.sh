#!/bin/sh
# Regenerates fuzz/seeds/readers/: real report files from shipped scenarios, each behind the
# one byte that picks its reader in fuzz_targets/readers.rs (0 summary.json, 1 timeseries.csv,
# 2 results.csv, 3 results.jsonl, 4 manifest.json, 5 compare.json). Long arrays are cut to three entries and
# time series to five rows, so every field is there and every seed stays under 8 KB.
# Run from the repository root after `cargo build --release`; needs python3.
set -e
bin=./target/release/capsim
tmp=$(mktemp -d)
$bin run scenarios/teaching/canary-bad-version.toml --out "$tmp/canary" >/dev/null || true
$bin run scenarios/tutorial/checkout.toml --set scenario.duration=40s --out "$tmp/checkout" >/dev/null || true
$bin run scenarios/teaching/mm1.toml --out "$tmp/mm1" >/dev/null || true
$bin run scenarios/teaching/mm1.toml --set traffic.rate=100000 --out "$tmp/overloaded" >/dev/null || true
$bin sweep scenarios/teaching/utilization-hockey-stick.toml --out "$tmp/sweep" >/dev/null || true
$bin compare --strategies rolling,canary,blue_green --replications 2 --out "$tmp/compare" \
    scenarios/teaching/deploy-strategies.toml >/dev/null || true
python3 - "$tmp" fuzz/seeds/readers <<'PY'
import json, os, sys
tmp, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
def trim(v):
    if isinstance(v, list):
        return [trim(x) for x in v[:3]]
    if isinstance(v, dict):
        return {k: trim(x) for k, x in v.items()}
    return v
def put(name, reader, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([reader]) + data)
def read(path):
    with open(os.path.join(tmp, path), "rb") as f:
        return f.read()
for run in ["canary", "checkout", "mm1"]:
    put(f"summary-{run}.json", 0, json.dumps(trim(json.loads(read(f"{run}/summary.json"))), indent=1).encode())
put("summary-overloaded.json", 0, read("overloaded/summary.json"))
for run in ["canary", "checkout"]:
    put(f"timeseries-{run}.csv", 1, b"\n".join(read(f"{run}/timeseries.csv").split(b"\n")[:6]) + b"\n")
put("results.csv", 2, read("sweep/results.csv"))
put("results.jsonl", 3, read("sweep/results.jsonl"))
put("manifest.json", 4, read("sweep/manifest.json"))
put("compare.json", 5, read("compare/compare.json"))
PY
rm -rf "$tmp"
