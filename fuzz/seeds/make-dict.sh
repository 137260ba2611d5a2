#!/bin/sh
# Writes fuzz/seeds/capsim.dict, a libFuzzer dictionary for the `scenario` and `overrides`
# targets: every key name and every named value of `capsim schema` (so mutations put real keys
# and values into scenario text and `--set` paths), table headers, and the path prefixes of the
# overrides target's base scenario. Run from the repository root after `cargo build --release`;
# needs python3.
set -e
./target/release/capsim schema | python3 -c '
import json, sys
schema = json.load(sys.stdin)
keys, values = set(), set()
def walk(v):
    if isinstance(v, dict):
        keys.update(v.get("properties", {}))
        values.update(e for e in v.get("enum", []) or [] if isinstance(e, str))
        if isinstance(v.get("const"), str):
            values.add(v["const"])
        for x in v.values():
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(schema)
tables = sorted(schema.get("properties", {}))
tokens = sorted(keys) + [f"\"{v}\"" for v in sorted(values)]
tokens += [f"[{t}]" for t in tables] + [f"[[{t}]]" for t in tables]
tokens += [f"{t}." for t in tables] + ["service.api.", "service.db.", "= ", " = { ", "\"1ms\"", "\"10s\"", "\"0.5s\"", "[\"db\"]", "#%file", "time_s,rate", "time_s"]
print("# capsim.dict: written by fuzz/seeds/make-dict.sh from `capsim schema`")
for t in tokens:
    print("\"" + t.replace("\\", "\\\\").replace("\"", "\\\"") + "\"")
' > fuzz/seeds/capsim.dict
