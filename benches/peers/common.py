"""What every peer model shares: its command line and the one JSON line it prints.

Each model simulates the same M/M/c FIFO queue (mu = 1 per worker) until `--customers` have
left, notes each customer's sojourn time as it leaves, drops the first tenth as warm-up, and
prints the mean and the 99th percentile of the rest. The driver (bench.py) times the whole
process, so start-up, the simulation and these statistics are all counted.
"""
import argparse
import json
import sys

# The three models of the comparison: name -> (workers c, arrival rate lam); mu = 1.
MODELS = {
    "mm1": (1, 0.9),     # rho 0.9
    "mm4": (4, 3.2),     # rho 0.8
    "mm16": (16, 14.4),  # rho 0.9
}
WARMUP_FRACTION = 0.1


def arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=sorted(MODELS), required=True)
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    workers, lam = MODELS[args.model]
    return args, workers, lam


def report(tool, version, sojourns_s):
    """Prints the statistics of the customers after the warm-up, in departure order."""
    kept = sorted(sojourns_s[int(len(sojourns_s) * WARMUP_FRACTION):])
    # The nearest-rank 99th percentile: the smallest value with 99% of the sample at or below it.
    p99 = kept[max(0, -(-99 * len(kept) // 100) - 1)]
    line = {
        "tool": tool,
        "version": version,
        "customers": len(sojourns_s),
        "mean_sojourn_s": sum(kept) / len(kept),
        "p99_sojourn_s": p99,
    }
    sys.stdout.write(json.dumps(line) + "\n")
