"""The tuner's own cost: per-trial overhead with fits too cheap to hide it, and driver memory.

Overhead. A 40-row cached DataFrame and a LinearRegression with ``maxIter=1``, scored on one
train/validation split (``BayesianTrainValidationSplit``, ``trainRatio`` 0.75, ``parallelism``
1), so a trial's fit + evaluation takes a few tens of milliseconds and the rest shows. For 10, 100
and 500 trials (``--trials``) it runs

* sparktpe TPE: a Hyperopt ``tpe.suggest`` proposal per trial, through the py4j callback;
* sparktpe grid: a grid of as many regParam values (proposals made in Scala: no Python at all;
  the difference to TPE is the py4j round trip plus TPE's own time); only up to 100 trials, as
  nothing in it depends on the history (``GRID_MAX_TRIALS``: this keeps the run short);
* with ``--with-random``, sparktpe random: ``searchAlgorithm="random"`` over the same Hyperopt
  space (the py4j round trip with a trivial proposal: the difference to TPE is TPE's own time);
* Hyperopt ``fmin(tpe.suggest, trials=Trials())`` whose objective fits and scores the same
  estimator on the same kind of split (``randomSplit`` of the cached input, not cached itself,
  as in sparktpe): Python driving Spark directly, one fit per call.

overhead per trial = (search window - sum of fold durations) / trials, where for sparktpe the
window is [first fold start, last fold end] and the fold durations come from the scheduler's
timestamps (``trials.foldStartTimes``/``foldEndTimes``): the proposal round trip, TPE and the
scheduler's bookkeeping. For fmin the window is all of ``fmin`` and the durations are timed
around each objective's fit + evaluation. "wall per trial" is the whole ``fit`` (``fmin``)
divided by the trials, so it also carries the fixed start and end costs (splitting, the refit).

Memory. On the flights sample (bench/flights_data.py, cached and counted first), a sparktpe TPE
search (``parallelism`` 2, 12 trials) and Spark's Scala CrossValidator on the 12-point grid over
the same Params (``parallelism`` 2) each run under a sampler thread that reads, every 0.2 s, the
driver JVM's heap in use and the bytes of all cached data (``SparkContext.getRDDStorageInfo()``);
their peaks are compared with the input's own cached size. Python's peak RSS is
``resource.getrusage``. The memory runs come first, before the timing runs grow Python's heap,
and are not timed: the sampler's py4j calls would blur the overhead.

Run from the repository root, through run_all.py or alone (then with SPARK_LOCAL_IP=127.0.0.1
and PYSPARK_PYTHON=$PWD/.venv/bin/python set, as project/dev.sh does). Results go to
bench/results/overhead.{json,md} (with --quick to bench/out/):

    project/dev.sh bench --parts overhead
    .venv/bin/python bench/overhead.py [--quick]
        [--repetitions 3] [--trials 10 100 500] [--fraction 0.02]

How to read it: "overhead ms/trial" is what the tuner adds to every trial beyond the fit itself;
compare it with the seconds a real fit takes (bench/grid_vs_crossvalidator.py's fold times):
under 1% of a fit means the tuner costs nothing that matters. TPE's proposal time grows with the
history, so the 500-trial figure is the upper end. "peak cached / input" is the most cached data
at any moment, in sizes of the cached input (the input included). sparktpe caches nothing of its
own when the input is cached; Spark's CrossValidator caches each fold's training and validation
parts; LogisticRegression caches its training instances while it fits (both searches): compare
the two rows rather than read either alone.
"""

import sys
import time

import numpy as np
from hyperopt import Trials, fmin, hp, tpe
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.linalg import Vectors
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

import flights_data
import memory
import report
import timeline
from sparktpe import BayesianCrossValidator, BayesianTrainValidationSplit

NAME = "overhead"
FULL = {"repetitions": 3, "fraction": 0.02, "trials": [10, 100, 500], "memory_evals": 12,
        "memory_grid": {"reg_params": [1e-4, 1e-3, 1e-2, 1e-1], "elastic_nets": [0.0, 0.5, 1.0]}}
# --quick: small searches and a 2-point memory grid, to check that the script works
QUICK = {"repetitions": 1, "fraction": 0.005, "trials": [5, 20], "memory_evals": 2,
         "memory_grid": {"reg_params": [1e-3, 1e-1], "elastic_nets": [0.0]}}
GRID_MAX_TRIALS = 100
TINY_ROWS = 40
TRAIN_RATIO = 0.75
MB = 1024 * 1024

TPE, RANDOM, GRID, FMIN = ("sparktpe TPE", "sparktpe random (py4j)", "sparktpe grid (Scala only)",
                           "Hyperopt fmin + Trials (TPE)")


def parse_args(argv=None):
    p = report.parser(__doc__.splitlines()[0], FULL, QUICK)
    p.add_argument("--trials", type=report.positive_int, nargs="+", default=None,
                   help="search sizes in trials " + report.default_help("trials", FULL, QUICK))
    p.add_argument("--with-random", action="store_true",
                   help="also run sparktpe random search (the py4j round trip without TPE's own "
                        "time; adds a third to the overhead runs)")
    p.add_argument("--no-memory", dest="memory", action="store_false",
                   help="skip the memory runs on the flights data")
    return report.finish(p.parse_args(argv))


def tiny_data(spark):
    """40 rows of (features: 2-vector, label), one partition, cached and counted."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(TINY_ROWS, 2))
    y = 3 * x[:, 0] - 2 * x[:, 1] + rng.normal(0, 0.1, TINY_ROWS)
    frame = spark.createDataFrame([(Vectors.dense(a), float(b)) for a, b in zip(x, y)],
                                  ["features", "label"]).coalesce(1).cache()
    frame.count()
    return frame


def cheap():
    lr = LinearRegression(maxIter=1)
    space = {lr.regParam: hp.loguniform("regParam", np.log(1e-5), 0.0),
             lr.elasticNetParam: hp.uniform("elasticNetParam", 0.0, 1.0)}
    return lr, space, RegressionEvaluator(metricName="rmse")


def run_sparktpe(kind, n, seed, data):
    lr, space, evaluator = cheap()
    common = dict(estimator=lr, evaluator=evaluator, trainRatio=TRAIN_RATIO, parallelism=1, seed=seed)
    if kind == GRID:
        values = [float(v) for v in np.logspace(-5, 0, n)]
        grid = ParamGridBuilder().addGrid(lr.regParam, values).build()
        tuner = BayesianTrainValidationSplit(estimatorParamMaps=grid, **common)
    else:
        algorithm = "tpe" if kind == TPE else "random"
        tuner = BayesianTrainValidationSplit(searchSpace=space, maxEvals=n,
                                             searchAlgorithm=algorithm, **common)
    report.without_progress_bar(tuner)
    started = time.perf_counter()
    model = tuner.fit(data)
    seconds = time.perf_counter() - started
    runs = timeline.fold_runs(model)
    share = timeline.busy_share(runs, 1)
    folds = share["fold_seconds"]
    return {"trials": n, "seconds": seconds, "wall_per_trial": seconds / n,
            "window_seconds": share["window_seconds"], "fold_seconds": folds,
            "fold_per_trial": None if folds is None else folds / n,
            "overhead_per_trial": timeline.overhead_per_trial(runs, n)}


def run_fmin(n, seed, splits):
    """fmin over the same space; the objective fits on the training part and scores the rest."""
    train, validation = splits
    lr, space, evaluator = cheap()
    by_name = {p.name: p for p in space}
    durations = []

    def objective(setting):
        started = time.perf_counter()
        model = lr.fit(train, {by_name[k]: float(v) for k, v in setting.items()})
        rmse = evaluator.evaluate(model.transform(validation))
        durations.append(time.perf_counter() - started)
        return rmse

    started = time.perf_counter()
    fmin(objective, {p.name: e for p, e in space.items()}, algo=tpe.suggest, max_evals=n,
         trials=Trials(), rstate=np.random.default_rng(seed), show_progressbar=False)
    seconds = time.perf_counter() - started
    folds = sum(durations)
    return {"trials": n, "seconds": seconds, "wall_per_trial": seconds / n,
            "window_seconds": seconds, "fold_seconds": folds, "fold_per_trial": folds / n,
            "overhead_per_trial": (seconds - folds) / n}


def memory_runs(spark, args):
    """Peak heap and cached bytes during a sparktpe TPE search and a Scala CrossValidator."""
    jvm = spark.sparkContext._jvm
    before = memory.cached_bytes(spark)
    data, rows = flights_data.load(spark, args.fraction)
    input_bytes = memory.cached_bytes(spark) - before
    estimator, lr = flights_data.pipeline()
    evaluator = flights_data.evaluator()
    grid = flights_data.space_grid(lr, **args.memory_grid)
    common = dict(estimator=estimator, evaluator=evaluator, numFolds=3, foldCol="fold", parallelism=2)

    def sparktpe_search():
        tuner = BayesianCrossValidator(searchSpace=flights_data.search_space(lr),
                                       maxEvals=args.memory_evals, seed=1, **common)
        report.without_progress_bar(tuner).fit(data)

    def scala_cv_search():
        CrossValidator(estimatorParamMaps=grid, **common)._to_java().fit(data._jdf)

    searches = {f"sparktpe TPE p=2, {args.memory_evals} trials": sparktpe_search,
                f"Spark CrossValidator (Scala) p=2, {len(grid)}-point grid": scala_cv_search}
    results = {}
    for name, search in searches.items():
        jvm.java.lang.System.gc()  # each run starts from a collected heap
        heap_before = memory.heap_used_bytes(spark)
        with memory.Sampler(spark) as sampler:
            search()
        results[name] = {
            "input_cached_bytes": input_bytes,
            "peak_cached_bytes": sampler.peak_cached_bytes - before,
            "heap_before_bytes": heap_before, "peak_heap_bytes": sampler.peak_heap_bytes,
            "python_max_rss_bytes": memory.python_max_rss_bytes(), "samples": sampler.samples}
        report.log(f"memory: {name}: peak cached {results[name]['peak_cached_bytes'] / MB:.1f} MB "
                   f"(input {input_bytes / MB:.1f} MB), peak heap {sampler.peak_heap_bytes / MB:.0f} MB")
    data.unpersist()
    return {"rows": rows, "runs": results}


def summarise(runs, names, sizes):
    summary = {}
    for name in names:
        for n in sizes:
            reps = [r for r in runs[name] if r["trials"] == n]
            if not reps:
                continue
            summary[f"{name} @{n}"] = {
                key: report.median([r[key] for r in reps])
                for key in ("seconds", "wall_per_trial", "fold_per_trial", "overhead_per_trial")}
    return summary


def ms(seconds):
    """Seconds as milliseconds with one decimal, or n/a."""
    return report.fmt(None if seconds is None else seconds * 1e3, ".1f")


def markdown(args, summary, mem, info, done):
    rows = [[key.rsplit(" @", 1)[0], key.rsplit(" @", 1)[1], report.fmt(s["seconds"], ".1f"),
             ms(s["wall_per_trial"]), ms(s["fold_per_trial"]), ms(s["overhead_per_trial"])]
            for key, s in summary.items()]
    partial = "" if done == args.repetitions else f"\n- PARTIAL: {done} of {args.repetitions} repetitions"
    text = (f"# Tuner overhead and driver memory\n\n"
            f"- overhead: {TINY_ROWS}-row cached DataFrame, LinearRegression maxIter=1, one "
            f"train/validation split ({TRAIN_RATIO}), parallelism 1; {done} repetition(s), "
            f"contenders in rotated order{partial}\n"
            f"{report.machine_line(info)}\n\n"
            + report.table(["contender", "trials", "wall s", "wall ms/trial", "fit+eval ms/trial",
                            "overhead ms/trial"], rows) + "\n\n"
            "Medians over repetitions. overhead = (search window - sum of fit+evaluation times) "
            "/ trials: sparktpe's window is first fold start to last fold end (its scheduler's "
            "timestamps; n/a without them), fmin's is the whole call. \"wall ms/trial\" divides "
            "the whole `fit`/`fmin` by the trials, so it includes the fixed costs (split, refit).\n")
    if mem:
        mem_rows = [[name, f"{r['input_cached_bytes'] / MB:.2f}", f"{r['peak_cached_bytes'] / MB:.2f}",
                     report.fmt(r["peak_cached_bytes"] / r["input_cached_bytes"]
                                if r["input_cached_bytes"] else None, ".2f"),
                     f"{r['heap_before_bytes'] / MB:.0f}", f"{r['peak_heap_bytes'] / MB:.0f}",
                     f"{r['python_max_rss_bytes'] / MB:.0f}"]
                    for name, r in mem["runs"].items()]
        text += (f"\n## Driver memory during a search (flights, {mem['rows']:,} rows, one run each)\n\n"
                 + report.table(["search", "input cached MB", "peak cached MB", "peak cached / input",
                                 "JVM heap before MB", "peak JVM heap MB", "Python max RSS MB"],
                                mem_rows) + "\n\n"
                 "Sampled every 0.2 s: cached = sum of `memSize` over `getRDDStorageInfo()` (the "
                 "Spark UI's Storage tab), heap = `Runtime.totalMemory() - freeMemory()` after a "
                 "`System.gc()` before each run; Python max RSS is the process's peak so far "
                 "(`resource.getrusage`).\n")
    return text


def main(argv=None):
    args = parse_args(argv)
    spark = flights_data.start_spark()
    info = report.machine(spark)
    mem = memory_runs(spark, args) if args.memory else None

    data = tiny_data(spark)
    # Like sparktpe's split: a random split of the cached input, recomputed where it is used.
    splits = data.randomSplit([TRAIN_RATIO, 1 - TRAIN_RATIO], seed=7)
    names = [TPE] + ([RANDOM] if args.with_random else []) + [GRID, FMIN]
    run = {TPE: lambda n, seed: run_sparktpe(TPE, n, seed, data),
           RANDOM: lambda n, seed: run_sparktpe(RANDOM, n, seed, data),
           GRID: lambda n, seed: run_sparktpe(GRID, n, seed, data),
           FMIN: lambda n, seed: run_fmin(n, seed, splits)}
    report.log(f"{NAME}: trials {args.trials}, {args.repetitions} repetition(s): {names}")
    if not args.quick:
        for name in names:  # untimed warm-up
            run[name](3, 0)

    runs = {name: [] for name in names}
    started = time.perf_counter()
    for rep in range(args.repetitions):
        for n in args.trials:
            for name in report.rotated(names, rep):
                if name == GRID and n > GRID_MAX_TRIALS:
                    continue
                r = run[name](n, rep + 1)
                runs[name].append({"repetition": rep + 1, **r})
                report.log(f"[{time.perf_counter() - started:6.0f} s] repetition {rep + 1} {name:<30} "
                           f"{n:4d} trials {r['seconds']:6.1f} s, overhead "
                           f"{ms(r['overhead_per_trial'])} ms/trial")
        summary = summarise(runs, names, args.trials)
        report.write(args, NAME, {"machine": info, "summary": summary, "runs": runs, "memory": mem},
                     markdown(args, summary, mem, info, rep + 1), final=rep + 1 == args.repetitions)
    spark.stop()


if __name__ == "__main__":
    sys.exit(main())
