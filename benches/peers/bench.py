"""Times capsim and its peers on the same M/M/c models and prints the README's tables.

Every (tool, model) pair runs `--runs` times as a whole process: start-up, simulation and
statistics are all inside the wall time. A run's peak memory is its maximum resident set
size, as GNU time reports it. Speed is customers per second of wall time, from
the median run; memory is the median peak. Accuracy is judged once per pair (every run uses the
same seed, so the repetitions simulate the same customers) against theory.py.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import theory
from common import MODELS, WARMUP_FRACTION

HERE = os.path.dirname(os.path.abspath(__file__))
MU = 1.0
GNU_TIME = os.environ.get("GNU_TIME", "/usr/bin/time")


def measure(command):
    """Runs `command`, returns (stdout, wall seconds, peak RSS in MiB).

    The peak comes from GNU time, not from this process's wait4: a child forked from Python
    starts as a copy of the Python interpreter, and the kernel keeps that copy's resident size
    as the child's high-water mark across exec, so wait4 would report at least Python's size.
    """
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = os.path.join(scratch, "peak")
        start = time.perf_counter()
        done = subprocess.run([GNU_TIME, "-f", "%M", "-o", peak_file] + command,
                              capture_output=True, text=True)
        wall_s = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
        with open(peak_file) as f:
            peak_kib = int(f.read().split()[-1])
        return done.stdout, wall_s, peak_kib / 1024.0


def capsim_command(binary, model, customers):
    workers, lam = MODELS[model]
    duration_s = round(customers / lam)
    return [
        binary, "run", os.path.join(HERE, "mmc.toml"), "--format", "json",
        "--set", f"traffic.rate={lam}",
        "--set", f"service.server.concurrency={workers}",
        "--set", f"scenario.duration={duration_s}s",
        "--set", f"scenario.warmup={round(duration_s * WARMUP_FRACTION)}s",
    ]


def capsim_result(text, model, customers):
    summary = json.loads(text)
    return {
        "customers": customers,  # expected arrivals: rate x duration
        "mean_sojourn_s": summary["latency_ms"]["mean"] / 1e3,
        "p99_sojourn_s": summary["latency_ms"]["p99"] / 1e3,
    }


def peer_command(tool, model, customers):
    script = os.path.join(HERE, f"peer_{tool.lower()}.py")
    return [sys.executable, script, "--model", model, "--customers", str(customers)]


def rate(per_s):
    if per_s >= 1e6:
        return f"{per_s / 1e6:.1f} M"
    return f"{per_s / 1e3:.3g} k" if per_s < 1e4 else f"{per_s / 1e3:.0f} k"


def ratio(x):
    return f"{x:.2g}x" if x < 100 else f"{round(x, -1):.0f}x"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--capsim", required=True, help="the release binary")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--salabim", action="store_true")
    parser.add_argument("--capsim-customers", type=int, default=20_000_000)
    parser.add_argument("--simpy-customers", type=int, default=1_000_000)
    parser.add_argument("--ciw-customers", type=int, default=200_000)
    parser.add_argument("--salabim-customers", type=int, default=20_000)
    args = parser.parse_args()

    capsim_version = subprocess.run([args.capsim, "--version"], capture_output=True,
                                     text=True, check=True).stdout.split()[-1]
    tools = [("capsim", capsim_version, args.capsim_customers)]
    tools += [("SimPy", None, args.simpy_customers), ("Ciw", None, args.ciw_customers)]
    if args.salabim:
        tools.append(("salabim", None, args.salabim_customers))

    results = {}  # (tool, model) -> dict(customers, per_s, rss_mib, mean/p99 sojourn, version)
    for tool, version, customers in tools:
        # One small untimed run first, so that no timed run pays for a cold disk cache.
        if tool == "capsim":
            measure(capsim_command(args.capsim, "mm1", 10_000))
        else:
            measure(peer_command(tool, "mm1", 1_000))
        for model in MODELS:
            if tool == "capsim":
                command = capsim_command(args.capsim, model, customers)
            else:
                command = peer_command(tool, model, customers)
            walls, peaks, figures = [], [], None
            for run in range(args.runs):
                text, wall_s, rss_mib = measure(command)
                walls.append(wall_s)
                peaks.append(rss_mib)
                if figures is None:
                    figures = (capsim_result(text, model, customers) if tool == "capsim"
                               else json.loads(text))
                print(f"{tool:8} {model:5} run {run + 1}/{args.runs}: {wall_s:7.2f} s, "
                      f"{rss_mib:6.1f} MiB", file=sys.stderr)
            figures["version"] = figures.get("version", version)
            figures["per_s"] = figures["customers"] / statistics.median(walls)
            figures["rss_mib"] = statistics.median(peaks)
            results[(tool, model)] = figures

    names = [tool for tool, _, _ in tools]
    versions = {t: results[(t, "mm1")]["version"] for t in names}
    label = {"mm1": "M/M/1, rho 0.9", "mm4": "M/M/4, rho 0.8", "mm16": "M/M/16, rho 0.9"}
    customers = {t: c for t, _, c in tools}

    print(f"Whole processes, median of {args.runs} run(s) each, on {os.cpu_count()} cores "
          f"({platform.processor() or platform.machine()}, Python {platform.python_version()}). "
          "Customers per run: " + ", ".join(f"{t} {customers[t]:,}" for t in names) + ".\n")
    head = ["model"] + [f"{t} {versions[t]}" for t in names] + ["capsim / SimPy", "capsim / Ciw"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for i, model in enumerate(MODELS):
        cells = [label[model]]
        for t in names:
            figure = rate(results[(t, model)]["per_s"])
            cells.append(figure + (" customers/s" if i == 0 and t == "capsim" else ""))
        capsim_per_s = results[("capsim", model)]["per_s"]
        cells.append(ratio(capsim_per_s / results[("SimPy", model)]["per_s"]))
        cells.append(ratio(capsim_per_s / results[("Ciw", model)]["per_s"]))
        print("| " + " | ".join(cells) + " |")
    memory = ["peak memory"]
    for t in names:
        peak = max(results[(t, m)]["rss_mib"] for m in MODELS)
        memory.append(f"{peak:.1f} MiB at {customers[t]:,}")
    print("| " + " | ".join(memory + ["", ""]) + " |")

    print("\nRelative error against exact M/M/c theory (Erlang C for the mean, the FIFO "
          "sojourn distribution for p99), after dropping the first tenth as warm-up:\n")
    print("| model | W theory | p99 theory | " + " | ".join(
        f"{t} W | {t} p99" for t in names) + " |")
    print("|" + "---|" * (3 + 2 * len(names)))
    for model, (workers, lam) in MODELS.items():
        w = theory.mean_sojourn_s(workers, lam, MU)
        p99 = theory.sojourn_quantile_s(0.99, workers, lam, MU)
        cells = [label[model], f"{w:.4f} s", f"{p99:.4f} s"]
        for t in names:
            r = results[(t, model)]
            cells.append(f"{r['mean_sojourn_s'] / w - 1:+.2%}")
            cells.append(f"{r['p99_sojourn_s'] / p99 - 1:+.2%}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
