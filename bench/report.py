"""What every benchmark shares: its common options, machine facts, medians and its report files.

A benchmark writes ``<out-dir>/<name>.json`` (every repetition's raw numbers, the medians and the
machine: cores, load, versions, date, git commit) and ``<out-dir>/<name>.md`` (a table of medians
and ratios with a few lines on how to read it). Full runs write to bench/results/; ``--quick``
smoke runs write to bench/out/ (git-ignored) unless ``--out-dir`` says otherwise, so a quick
result is never mistaken for a measurement.
"""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import hyperopt
import numpy as np
import pyspark

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
QUICK_RESULTS = ROOT / "bench" / "out"


def parser(description, full, quick):
    """An argument parser with the options all benchmarks take.

    Parameters
    ----------
    description : str
        The benchmark's one-line summary (``--help``).
    full, quick : dict
        Option name -> value for a full run and for ``--quick``: at least ``repetitions`` and
        ``fraction``; any other key becomes an attribute of the parsed options too.

    Returns
    -------
    argparse.ArgumentParser
        With ``--quick``, ``--repetitions``, ``--fraction``, ``--out-dir``; call :func:`finish`
        on what it parsed.
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes for a smoke check (a minute or so); results go to bench/out/")
    p.add_argument("--repetitions", type=positive_int, default=None,
                   help="repetitions; seeds where a search has a seed "
                        + default_help("repetitions", full, quick))
    p.add_argument("--fraction", type=fraction, default=None,
                   help="share of the 327k flights to sample "
                        + default_help("fraction", full, quick))
    p.add_argument("--out-dir", type=Path, default=None,
                   help=f"where the .json and .md go (default {RESULTS.relative_to(ROOT)}, "
                        f"--quick {QUICK_RESULTS.relative_to(ROOT)})")
    p.set_defaults(_sizes=(full, quick))
    return p


def default_help(key, full, quick):
    """"(default X, --quick Y)" for an option's help, lists shown space-separated."""
    def show(value):
        return " ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"(default {show(full[key])}, --quick {show(quick[key])})"


def finish(args):
    """Fills the options left unset from the full or the quick sizes; returns ``args``."""
    full, quick = args._sizes
    del args._sizes
    sizes = quick if args.quick else full
    for key, value in sizes.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.out_dir is None:
        args.out_dir = QUICK_RESULTS if args.quick else RESULTS
    return args


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def fraction(text):
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def log(message):
    """Progress goes to stderr; stdout carries the result tables only."""
    print(message, file=sys.stderr, flush=True)


def rotated(items, repetition):
    """``items`` started at position ``repetition`` (mod its length): each contender goes first in
    turn, so neither JVM warm-up nor a drift in machine load favours one of them."""
    shift = repetition % len(items)
    return items[shift:] + items[:shift]


def repeat(configs, repetitions, run, after=None, started=None):
    """Runs every configuration ``repetitions`` times, in an order rotated per repetition.

    Parameters
    ----------
    configs : list of str
        Names of what to run (contenders, or contender x parallelism).
    repetitions : int
    run : callable(str, int) -> dict
        Runs one configuration in one repetition (0-based); its dict should have ``seconds``.
    after : callable(dict, int), optional
        Called after each repetition with the results so far and the repetitions done, e.g. to
        write the report, so a run cut short keeps what finished.

    Returns
    -------
    dict
        name -> list of ``run``'s dicts, one per repetition in repetition order.
    """
    results = {name: [] for name in configs}
    clock = time.perf_counter()
    for rep in range(repetitions):
        for name in rotated(list(configs), rep):
            result = run(name, rep)
            results[name].append(result)
            log(f"[{time.perf_counter() - clock:6.0f} s] repetition {rep + 1} {name:<44} "
                f"{result.get('seconds', float('nan')):7.1f} s")
        if after is not None:
            after(results, rep + 1)
    return results


def without_progress_bar(tuner):
    """``tuner`` with its progress bar off, where this sparktpe has one: on a terminal it would
    poll the JVM twice a second during the timed runs and mix with the log lines."""
    if tuner.hasParam("showProgress"):
        tuner.set(tuner.getParam("showProgress"), False)
    return tuner


def median(values):
    """Median of the values that are not None or NaN; None if there are none."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(present) if present else None


def fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def git_commit():
    """(commit, whether the work tree had uncommitted changes), or (None, None) without git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip() != ""
        return commit, dirty
    except (OSError, subprocess.CalledProcessError):
        return None, None


def machine(spark):
    """Facts that decide whether two results can be compared: cores, load, versions, commit."""
    jvm = spark.sparkContext._jvm
    commit, dirty = git_commit()
    cpu = next((line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "load_average_at_start": os.getloadavg(),
        "spark_master": spark.sparkContext.master,
        "python": platform.python_version(),
        "pyspark": pyspark.__version__,
        "hyperopt": hyperopt.__version__,
        "numpy": np.__version__,
        "java": jvm.java.lang.System.getProperty("java.version"),
        "scala": jvm.scala.util.Properties.versionNumberString(),
        "git_commit": commit,
        "git_dirty": dirty,
    }


def _read_lines(path):
    try:
        with open(path) as f:
            return f.readlines()
    except OSError:
        return []


def machine_line(info):
    load = ", ".join(f"{x:.2f}" for x in info["load_average_at_start"])
    commit = (info["git_commit"] or "unknown")[:10] + (" (uncommitted changes)" if info["git_dirty"] else "")
    return (f"- machine: {info['cores']} cores ({info['cpu']}), Spark master {info['spark_master']}, "
            f"load average at start {load}\n"
            f"- versions: Python {info['python']}, pyspark {info['pyspark']}, Java {info['java']}, "
            f"Scala {info['scala']}, hyperopt {info['hyperopt']}, numpy {info['numpy']}; "
            f"git {commit}; {info['date']}")


def table(columns, rows):
    """A Markdown table; ``columns`` are headers, the first column left-aligned."""
    lines = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write(args, name, report, markdown, final=True):
    """Writes ``<out-dir>/<name>.json`` and ``.md``; prints the Markdown when ``final``.

    Called after every repetition too (``final=False``), so a run cut short keeps what finished.
    """
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.quick:
        markdown = ("> QUICK SMOKE RUN (--quick): tiny sizes, not a measurement.\n\n" + markdown)
        report = {"quick": True, **report}
    report = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              **report}
    text = json.dumps(_strict(report), indent=1, default=_json, allow_nan=False)
    (args.out_dir / f"{name}.json").write_text(text + "\n")
    (args.out_dir / f"{name}.md").write_text(markdown)
    if final:
        print(markdown, end="", flush=True)
        log(f"wrote {args.out_dir / name}.json and .md")


def _strict(value):
    """``value`` with NaN and infinities as None: strict JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _json(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
