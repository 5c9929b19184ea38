"""TPE: sparktpe vs the Hyperopt loop users run today, same space, same budget, same run.

The pattern users run today: Hyperopt's ``fmin(objective, space, algo=tpe.suggest,
max_evals=N, trials=Trials(), rstate=np.random.default_rng(seed))`` whose objective fits a
3-fold ``CrossValidator`` on ONE setting and returns -AUC (PySpark's Python CrossValidator by
default, ``--fmin-cv scala`` for Spark's JVM one built with ``_to_java()``; both with the same
``fold`` column). Each call fits 3 folds one after another and then refits that setting on all
rows, as ``CrossValidator.fit`` always does. Against it: sparktpe's
``BayesianCrossValidator(searchSpace=..., maxEvals=N, parallelism=p)`` for p = 1, 2, 3.

Both search the same space over the flights pipeline (bench/flights_data.py): logistic
regression ``regParam`` log-uniform in [1e-5, 1] and ``elasticNetParam`` uniform in [0, 1],
3 folds from the ``fold`` column, area under ROC. A 12-point grid over the same two Params is
evaluated once per run (sparktpe grid mode, same folds) and sets the bar: a search "gets
within 0.5%" once a trial's AUC >= (1 - 0.005) x the grid's best AUC.

After an untimed warm-up of both kinds of search (not with ``--quick``), for every seed
(repetition) and contender, in an order rotated per seed: wall seconds to finish,
best AUC, the fits needed to get within 0.5% (and 0.1%) of the grid's best (3 x the trials up
to and including the first such trial, in proposal order), and the seconds from the start of
``fit``/``fmin`` until the first such trial had finished.

Note: ``tpe.suggest``'s default ``n_startup_jobs`` is 20, so with ``maxEvals`` <= 20 the fmin
loop is a random search; sparktpe starts TPE after max(2, min(20, maxEvals // 4)) random trials.
``--fmin-startup matched`` gives fmin sparktpe's start-up count, to compare the loops alone.

Run from the repository root, through run_all.py or alone (then with SPARK_LOCAL_IP=127.0.0.1
and PYSPARK_PYTHON=$PWD/.venv/bin/python set, as project/dev.sh does). Results go to
bench/results/tpe_vs_hyperopt.{json,md} (with --quick to bench/out/):

    project/dev.sh bench --parts tpe
    .venv/bin/python bench/tpe_vs_hyperopt.py [--quick]
        [--repetitions 3] [--fraction 0.02] [--max-evals 12] [--fmin-cv pyspark|scala]

How to read the table (medians over seeds): "wall / fmin" below 1 means faster than the fmin
loop (median of per-seed ratios). "fits to 0.5%" counts fold fits until the first trial within
0.5% of the grid's best (n/a: never reached; "reached" says on how many seeds). The best-AUC
differences of a few 1e-5 are within Spark's run-to-run noise on this easy problem.
"""

import functools
import sys
import time

import numpy as np
from hyperopt import Trials, fmin, tpe
from pyspark.ml.tuning import CrossValidator

import flights_data
import report
import timeline
from sparktpe import BayesianCrossValidator
from sparktpe.proposer import tpe_startup_trials

NAME = "tpe_vs_hyperopt"
FULL = {"repetitions": 3, "fraction": 0.02, "max_evals": 12, "parallelisms": [1, 2, 3],
        "grid_reg_params": [1e-4, 1e-3, 1e-2, 1e-1], "grid_elastic_nets": [0.0, 0.5, 1.0]}
# --quick: a 2-point grid and 3 trials, to check that the script works, not to measure
QUICK = {"repetitions": 1, "fraction": 0.005, "max_evals": 3, "parallelisms": [2],
         "grid_reg_params": [1e-3, 1e-1], "grid_elastic_nets": [0.0]}
FOLDS = 3
FMIN = "Hyperopt fmin + {cv} CrossValidator"


def parse_args(argv=None):
    p = report.parser(__doc__.splitlines()[0], FULL, QUICK)
    p.add_argument("--max-evals", type=report.positive_int, default=None,
                   help="trials per search, the same for all "
                        + report.default_help("max_evals", FULL, QUICK))
    p.add_argument("--parallelisms", type=report.positive_int, nargs="+", default=None,
                   help="sparktpe parallelisms " + report.default_help("parallelisms", FULL, QUICK))
    p.add_argument("--fmin-cv", choices=["pyspark", "scala"], default="pyspark",
                   help="the CrossValidator inside fmin's objective: PySpark's Python one (what "
                        "PySpark users run, default) or Spark's JVM one via _to_java()")
    p.add_argument("--fmin-startup", choices=["default", "matched"], default="default",
                   help="fmin's random start-up trials: tpe.suggest's default (20) or sparktpe's "
                        "max(2, min(20, maxEvals // 4))")
    p.add_argument("--tolerances", type=float, nargs="+", default=[0.005, 0.001],
                   help="relative gaps to the grid's best AUC to count fits for; the first is "
                        "the headline (default 0.005 0.001)")
    return report.finish(p.parse_args(argv))


def reached(metrics, ends, started, threshold):
    """(fits, seconds) to the first trial with metric >= threshold: fits = FOLDS x trials up to
    and including it in proposal order; seconds from ``started`` until the earliest such trial
    ended (None without end times). (None, None) if no trial reached it."""
    hits = [i for i, m in enumerate(metrics) if m is not None and m == m and m >= threshold]
    if not hits:
        return None, None
    times = [ends[i] - started for i in hits if ends.get(i) is not None]
    return FOLDS * (hits[0] + 1), (min(times) if times else None)


def result(seconds, metrics, settings, ends, started, fits_run, thresholds):
    ok = [m for m in metrics if m is not None and m == m]
    out = {"seconds": seconds, "best": max(ok) if ok else None, "fits_run": fits_run,
           "metrics": metrics, "settings": settings, "within": {}}
    for tol, threshold in thresholds.items():
        fits, secs = reached(metrics, ends, started, threshold)
        out["within"][str(tol)] = {"fits": fits, "seconds": secs}
    return out


def run_sparktpe(estimator, lr, evaluator, data, args, seed, parallelism, thresholds):
    tuner = BayesianCrossValidator(
        estimator=estimator, evaluator=evaluator, searchSpace=flights_data.search_space(lr),
        maxEvals=args.max_evals, numFolds=FOLDS, foldCol="fold", parallelism=parallelism, seed=seed)
    report.without_progress_bar(tuner)
    wall_started = time.time()
    started = time.perf_counter()
    model = tuner.fit(data)
    seconds = time.perf_counter() - started
    rows = model.trials.select("trialId", "metric", "status", "foldMetrics", "regParam",
                               "elasticNetParam").orderBy("trialId").collect()
    metrics = [r.metric if r.status == "ok" else None for r in rows]
    settings = [{"regParam": r.regParam, "elasticNetParam": r.elasticNetParam} for r in rows]
    ends = timeline.trial_end_times(timeline.fold_runs(model))
    fits_run = sum(1 for r in rows for m in r.foldMetrics if m == m) + 1  # + the final refit
    return result(seconds, metrics, settings, ends, wall_started, fits_run, thresholds)


def run_fmin(estimator, lr, evaluator, data, args, seed, thresholds):
    """Hyperopt's fmin over the same space, each objective a 3-fold CrossValidator on one setting."""
    by_name = {param.name: (param, expr) for param, expr in flights_data.search_space(lr).items()}
    space = {name: expr for name, (_, expr) in by_name.items()}  # Hyperopt wants text keys
    metrics, settings, ends = [], [], {}

    def objective(setting):
        grid = [{by_name[name][0]: float(value) for name, value in setting.items()}]
        cv = CrossValidator(estimator=estimator, estimatorParamMaps=grid, evaluator=evaluator,
                            numFolds=FOLDS, foldCol="fold")
        if args.fmin_cv == "scala":
            metric = list(cv._to_java().fit(data._jdf).avgMetrics())[0]
        else:
            metric = cv.fit(data).avgMetrics[0]
        ends[len(metrics)] = time.time()
        metrics.append(metric)
        settings.append({name: float(value) for name, value in setting.items()})
        return -metric

    algo = tpe.suggest
    if args.fmin_startup == "matched":
        algo = functools.partial(tpe.suggest, n_startup_jobs=tpe_startup_trials(args.max_evals))
    wall_started = time.time()
    started = time.perf_counter()
    fmin(objective, space, algo=algo, max_evals=args.max_evals, trials=Trials(),
         rstate=np.random.default_rng(seed), show_progressbar=False)
    seconds = time.perf_counter() - started
    return result(seconds, metrics, settings, ends, wall_started, (FOLDS + 1) * len(metrics), thresholds)


def grid_best(estimator, lr, evaluator, data, args):
    """Best AUC of the fixed grid (sparktpe grid mode, the same folds), and its wall seconds."""
    grid = flights_data.space_grid(lr, args.grid_reg_params, args.grid_elastic_nets)
    tuner = BayesianCrossValidator(estimator=estimator, evaluator=evaluator,
                                   estimatorParamMaps=grid, numFolds=FOLDS, foldCol="fold",
                                   parallelism=max(args.parallelisms))
    report.without_progress_bar(tuner)
    started = time.perf_counter()
    model = tuner.fit(data)
    return max(model.avgMetrics), len(grid), time.perf_counter() - started


def summarise(runs, names, fmin_name, tolerances):
    summary = {}
    for name in names:
        reps = runs[name]
        row = {"median_seconds": report.median([r["seconds"] for r in reps]),
               "median_seconds_ratio_to_fmin": report.median(
                   [r["seconds"] / f["seconds"] for r, f in zip(reps, runs[fmin_name])]),
               "median_best": report.median([r["best"] for r in reps]),
               "median_fits_run": report.median([r["fits_run"] for r in reps]),
               "within": {}}
        for tol in map(str, tolerances):
            hits = [r["within"][tol] for r in reps]
            row["within"][tol] = {
                "median_fits": report.median([h["fits"] for h in hits]),
                "median_seconds": report.median([h["seconds"] for h in hits]),
                "reached": sum(1 for h in hits if h["fits"] is not None), "of": len(hits)}
        summary[name] = row
    return summary


def markdown(args, summary, fmin_name, rows, info, grid, done):
    head, *rest = map(str, args.tolerances)
    columns = ["contender", "wall s", "wall / fmin", "best AUC", f"fits to {float(head):.1%}",
               f"s to {float(head):.1%}", "reached"]
    columns += [f"fits to {float(t):.1%}" for t in rest] + ["fits run"]
    lines = []
    for name, s in summary.items():
        w = s["within"][head]
        cells = [name, report.fmt(s["median_seconds"], ".1f"),
                 report.fmt(s["median_seconds_ratio_to_fmin"], ".2f"),
                 report.fmt(s["median_best"], ".5f"), report.fmt(w["median_fits"], ".0f"),
                 report.fmt(w["median_seconds"], ".1f"), f"{w['reached']}/{w['of']}"]
        cells += [report.fmt(s["within"][t]["median_fits"], ".0f") for t in rest]
        cells += [report.fmt(s["median_fits_run"], ".0f")]
        lines.append(cells)
    thresholds = ", ".join(f"{float(t):.1%}: AUC >= {grid['thresholds'][t]:.5f}"
                           for t in map(str, args.tolerances))
    startup = (20 if args.fmin_startup == "default" else tpe_startup_trials(args.max_evals))
    partial = "" if done == args.repetitions else f"\n- PARTIAL: {done} of {args.repetitions} seeds"
    return (f"# TPE: sparktpe vs Hyperopt fmin around a CrossValidator\n\n"
            f"- data: nycflights13 flights, --fraction {args.fraction} -> {rows:,} rows; 3 folds "
            f"from the `fold` column; area under ROC\n"
            f"- space: regParam log-uniform 1e-5..1, elasticNetParam uniform 0..1; {args.max_evals} "
            f"trials per search; seeds 1..{done}, contenders in rotated order{partial}\n"
            f"- fmin: `tpe.suggest` with {startup} random start-up trials; sparktpe: "
            f"{tpe_startup_trials(args.max_evals)}\n"
            f"- reference grid ({grid['size']} points, sparktpe grid mode, {grid['seconds']:.1f} s): "
            f"best AUC {grid['best']:.5f}; thresholds {thresholds}\n"
            f"{report.machine_line(info)}\n\n"
            + report.table(columns, lines) + "\n\n"
            "Medians over seeds. \"wall / fmin\": median of per-seed wall-time ratios. \"fits to "
            "x%\": fold fits (3 per trial, in proposal order) up to the first trial within x% of "
            "the grid's best AUC; \"s to x%\": seconds from the start until such a trial had "
            "finished; \"reached\": seeds on which it happened. \"fits run\": fold fits plus "
            "refits (fmin's CrossValidator refits every setting on all rows; sparktpe refits the "
            "best once). Best-AUC differences of a few 1e-5 are Spark's run-to-run noise here.\n")


def main(argv=None):
    args = parse_args(argv)
    spark = flights_data.start_spark()
    info = report.machine(spark)
    data, rows = flights_data.load(spark, args.fraction)
    estimator, lr = flights_data.pipeline()
    evaluator = flights_data.evaluator()
    fmin_name = FMIN.format(cv="PySpark" if args.fmin_cv == "pyspark" else "Scala")
    names = [fmin_name] + [f"sparktpe TPE p={p}" for p in args.parallelisms]
    report.log(f"{NAME}: {rows:,} rows, {args.max_evals} trials x {FOLDS} folds, "
               f"{args.repetitions} seed(s): {names}")

    if not args.quick:  # untimed warm-up of both kinds of search
        run_fmin(estimator, lr, evaluator, data, parse_args_like(args, max_evals=1), 0, {})
        run_sparktpe(estimator, lr, evaluator, data, parse_args_like(args, max_evals=2), 0, 2, {})
    # the grid reference runs once, for all seeds
    best, size, seconds = grid_best(estimator, lr, evaluator, data, args)
    thresholds = {tol: best * (1 - tol) for tol in args.tolerances}
    grid = {"best": best, "size": size, "seconds": seconds,
            "thresholds": {str(t): v for t, v in thresholds.items()}}
    report.log(f"grid reference: best AUC {best:.5f} over {size} points ({seconds:.1f} s)")

    def sparktpe_at(p):
        return lambda seed: run_sparktpe(estimator, lr, evaluator, data, args, seed, p, thresholds)

    contenders = {fmin_name: lambda seed: run_fmin(estimator, lr, evaluator, data, args, seed, thresholds)}
    contenders.update({f"sparktpe TPE p={p}": sparktpe_at(p) for p in args.parallelisms})

    runs = {name: [] for name in names}
    started = time.perf_counter()
    for rep in range(args.repetitions):
        seed = rep + 1
        for name in report.rotated(names, rep):
            r = contenders[name](seed)
            runs[name].append({"seed": seed, **r})
            head = r["within"][str(args.tolerances[0])]
            report.log(f"[{time.perf_counter() - started:6.0f} s] seed {seed} {name:<44} "
                       f"{r['seconds']:6.1f} s best {report.fmt(r['best'], '.5f')} "
                       f"fits to {args.tolerances[0]:.1%}: {report.fmt(head['fits'], 'd')}")
        summary = summarise(runs, names, fmin_name, args.tolerances)
        report.write(args, NAME, {"machine": info, "rows": rows, "grid": grid, "contenders": names,
                                  "summary": summary, "runs": runs},
                     markdown(args, summary, fmin_name, rows, info, grid, rep + 1),
                     final=rep + 1 == args.repetitions)
    spark.stop()


def parse_args_like(args, **changes):
    """A copy of the parsed options with some changed (for the warm-up searches)."""
    copy = type(args)(**vars(args))
    for key, value in changes.items():
        setattr(copy, key, value)
    return copy


if __name__ == "__main__":
    sys.exit(main())
