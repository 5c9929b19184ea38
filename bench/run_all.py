"""Run the benchmarks, one after another, each in its own Python (and so its own driver JVM).

    project/dev.sh bench [--quick] [--repetitions N] [--fraction F] [--parts grid search memory]
                         [--grid-args "..."] [--search-args "..."] [--memory-args "..."]

1. grid     bench/grid_speed.py: grid speed on realistic pipelines, Spark's CrossValidators vs
            sparktpe grid mode (issue 11, 3a)
2. search   bench/search_quality.py: grid, random, TPE and Hyperopt fmin on a hard problem at
            equal trials; pruning on and off (3b)
3. memory   bench/tuner_memory.py: bytes the tuner caches over the input's size (3c)
4. overhead bench/overhead.py: per-trial tuner overhead with trivially cheap fits (not in the
            default parts: ask with --parts overhead)

Each writes ``<name>.json`` (every repetition's numbers, medians, machine and versions) and
``<name>.md`` (a table of medians and ratios, and how to read it) to bench/results/, or to
bench/out/ with ``--quick``; at the end this prints all the tables. A separate process per part
keeps one part's JVM heap and Python peak memory out of another's measurements, and a part that
fails does not stop the others (the exit status says so).

Sizes: the defaults (grid, search, memory) take 56 minutes on an idle 2-core machine (measured
2026-12-01: grid 20.0, search 30.4, memory 5.7; each script's docstring says what it runs);
``--quick`` takes a few minutes on an idle machine and only checks that everything works.
``--repetitions`` and ``--fraction`` go to every part; the ``--<part>-args`` strings pass that
part's own options, e.g. ``--grid-args "--cases heavy --parallelisms 1 2 4"``.
"""

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import report

BENCH = Path(__file__).resolve().parent
PARTS = {"grid": "grid_speed", "search": "search_quality", "memory": "tuner_memory",
         "overhead": "overhead"}
DEFAULT_PARTS = ["grid", "search", "memory"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes for a smoke check; results go to bench/out/")
    p.add_argument("--repetitions", type=report.positive_int, help="repetitions (seeds) for every part")
    p.add_argument("--fraction", type=report.fraction, help="share of the flights to sample, for every part")
    p.add_argument("--out-dir", type=Path, help="where every part writes (default bench/results, "
                                                "--quick bench/out)")
    p.add_argument("--parts", nargs="+", choices=list(PARTS), default=DEFAULT_PARTS,
                   help=f"which benchmarks to run (default {' '.join(DEFAULT_PARTS)}, in this order)")
    for part, script in PARTS.items():
        p.add_argument(f"--{part}-args", default="", metavar="ARGS",
                       help=f"extra options for bench/{script}.py, as one string")
    return p.parse_args(argv)


def command(args, part):
    cmd = [sys.executable, str(BENCH / f"{PARTS[part]}.py")]
    if args.quick:
        cmd.append("--quick")
    for option in ("repetitions", "fraction", "out_dir"):
        value = getattr(args, option)
        if value is not None:
            cmd += ["--" + option.replace("_", "-"), str(value)]
    return cmd + shlex.split(getattr(args, f"{part}_args"))


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    out_dir = args.out_dir or (report.QUICK_RESULTS if args.quick else report.RESULTS)
    started = time.perf_counter()
    outcomes = []
    for part in args.parts:
        cmd = command(args, part)
        report.log(f"run_all: {' '.join(shlex.quote(c) for c in cmd)}")
        part_started = time.perf_counter()
        # the part's table is in its .md: printed with the others at the end
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, cwd=BENCH.parent)
        seconds = time.perf_counter() - part_started
        outcomes.append((part, done.returncode, seconds))
        report.log(f"run_all: {part} {'finished' if done.returncode == 0 else 'FAILED'} "
                   f"in {seconds / 60:.1f} min")

    for part, code, seconds in outcomes:
        table = out_dir / f"{PARTS[part]}.md"
        if code == 0 and table.exists():
            print(table.read_text())
    total = time.perf_counter() - started
    summary = ", ".join(f"{part} {seconds / 60:.1f} min{'' if code == 0 else ' (FAILED)'}"
                        for part, code, seconds in outcomes)
    print(f"run_all: {total / 60:.1f} min in all ({summary}); results in {out_dir}")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
