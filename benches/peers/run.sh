#!/usr/bin/env bash
# The speed comparison in the README, reproduced from this repository.
#
# Installs the pinned peers (SimPy, Ciw; salabim with SALABIM=1) into a virtual environment,
# builds capsim in release mode, runs the same three M/M/c models in each tool as whole
# processes, and prints the README's table plus each tool's error against exact theory.
#
#   benches/peers/run.sh                 # RUNS=3 per (tool, model): about 6 minutes on 2 cores
#   RUNS=1 benches/peers/run.sh          # one pass, about 2 minutes
#   SALABIM=1 benches/peers/run.sh       # also salabim (another 3 minutes at RUNS=3)
#
# Needs python3 (3.10 or later) with venv, GNU time (/usr/bin/time; on Debian `apt-get install
# time`), cargo, and PyPI (or a pip mirror). VENV chooses where the environment lives.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
RUNS=${RUNS:-3}
SALABIM=${SALABIM:-0}
VENV=${VENV:-$target/peers-venv}

if [ ! -x /usr/bin/time ] && [ -z "${GNU_TIME:-}" ]; then
  echo "run.sh: needs GNU time at /usr/bin/time (or GNU_TIME=path) to measure peak memory" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating the virtual environment $VENV" >&2
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
salabim=()
if [ "$SALABIM" = 1 ]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements-salabim.txt"
  salabim=(--salabim)
fi

echo "== building capsim (release)" >&2
(cd "$root" && cargo build --release --locked --quiet)

echo "== timing, median of $RUNS run(s) per tool and model" >&2
"$VENV/bin/python" "$here/bench.py" --capsim "$target/release/capsim" --runs "$RUNS" "${salabim[@]}"
