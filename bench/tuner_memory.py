"""What the tuner itself holds: bytes sparktpe caches, over the input's cached size (issue 11, 3c).

A sparktpe grid search (the heavy pipeline of bench/grid_speed.py: Imputer, QuantileDiscretizers,
StringIndexers, OneHotEncoder, assembler, RandomForestClassifier; a 4-setting forest grid (1 with ``--quick``); 3 folds
from the ``fold`` column) runs under a sampler thread (bench/memory.py) that reads
``SparkContext.getRDDStorageInfo()`` every 0.2 s and keeps the peaks, at ``parallelism`` 1, 2
and 4, with stage reuse on and off (the ``reuseUntunedStages`` Param; "n/a" on a sparktpe
without it, which runs with its only behaviour, shown as "default"). The input is cached by the
caller (as users do before tuning, and as Spark's docs advise); at parallelism 2 also with an
uncached input, which sparktpe then caches itself. Spark's Scala ``CrossValidator`` (which caches
each fold's training and validation parts) at parallelism 2 is the reference row.

Telling the tuner's caches from the estimators': Spark names the RDD behind a Dataset cache after
its physical plan (its name holds attribute references such as ``month#123``), while an RDD an
estimator persists keeps its class name or a name of its own (``MapPartitionsRDD``;
RandomForest's ``bagged tree points``). The tuners cache Datasets (input, fold splits, reused
stage outputs); the estimators of these pipelines persist only RDDs. So "tuner" = Dataset caches
that were not there when ``fit`` began; "estimators" = the new RDD persists.

How to read the table: "tuner peak / input" is the most the tuner held at one moment (memory +
disk bytes), in multiples of the input's cached size (1.0: one extra copy of the input);
"estimators peak / input" is the same for the estimators' own RDD persists, which no tuner
controls; "seconds" is the wall time of ``fit`` under the sampler (for orientation only).

    project/dev.sh bench --parts memory [--quick]
    .venv/bin/python bench/tuner_memory.py [--quick] [--parallelisms 1 2 4] [--fraction 0.02]
"""

import sys
import time

import contenders
import flights_data
import memory
import report
from grid_speed import case_setup

NAME = "tuner_memory"
REUSE = "reuseUntunedStages"
FULL = {"repetitions": 1, "fraction": 0.02, "parallelisms": [1, 2, 4]}
QUICK = {"repetitions": 1, "fraction": 0.005, "parallelisms": [2]}
UNCACHED_PARALLELISM = 2


def parse_args(argv=None):
    p = report.parser(__doc__.splitlines()[0], FULL, QUICK)
    p.add_argument("--parallelisms", type=report.positive_int, nargs="+", default=None,
                   help="parallelisms " + report.default_help("parallelisms", FULL, QUICK))
    return report.finish(p.parse_args(argv))


def measured(spark, fit, input_bytes):
    """Runs ``fit()`` under a sampler; peaks in bytes and as multiples of ``input_bytes``."""
    with memory.Sampler(spark) as sampler:
        started = time.perf_counter()
        result = fit()
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "tuner_peak_bytes": sampler.peak_dataset_bytes,
            "estimators_peak_bytes": sampler.peak_rdd_bytes,
            "tuner_peak_over_input": sampler.peak_dataset_bytes / input_bytes,
            "estimators_peak_over_input": sampler.peak_rdd_bytes / input_bytes,
            "samples": sampler.samples, "avgMetrics": result["avgMetrics"]}


def main(argv=None):
    args = parse_args(argv)
    spark = flights_data.start_spark()
    info = report.machine(spark)
    data, rows, pipeline, grid, described = case_setup(spark, "heavy", args.fraction, args.quick)
    input_bytes = sum(size for _, _, size in memory.storage(spark))  # only the input is cached
    evaluator = flights_data.evaluator()
    probe = contenders.sparktpe_grid(pipeline, grid, evaluator, 1)
    has_reuse = contenders.has_param(probe, REUSE)
    reuse_modes = [True, False] if has_reuse else [None]

    def sparktpe(p, reuse, cached):
        def fit():
            params = {} if reuse is None else {REUSE: reuse}
            tuner = contenders.sparktpe_grid(pipeline, grid, evaluator, p, **params)
            if cached:
                return contenders.fit_sparktpe(tuner, data)
            data.unpersist(blocking=True)
            try:
                return contenders.fit_sparktpe(tuner, data)
            finally:
                data.cache().count()
        return fit

    configs = {}
    for p in args.parallelisms:
        for reuse in reuse_modes:
            configs[(f"sparktpe grid p={p}", reuse, "cached")] = sparktpe(p, reuse, True)
    if UNCACHED_PARALLELISM in args.parallelisms:
        for reuse in reuse_modes:
            configs[(f"sparktpe grid p={UNCACHED_PARALLELISM}", reuse, "not cached")] = \
                sparktpe(UNCACHED_PARALLELISM, reuse, False)
    if not args.quick:  # the reference row; grid_speed.py runs the same Scala CV code in --quick
        configs[("Scala CV p=2", None, "cached")] = lambda: contenders.fit_scala_cv(
            pipeline, grid, evaluator, 2, data)

    names = list(configs)
    label = {key: f"{key[0]} | reuse {'n/a' if key[1] is None else ('on' if key[1] else 'off')}"
                  f" | input {key[2]}" for key in names}
    by_label = {label[k]: configs[k] for k in names}
    lines_of = {}

    def run(name, rep):
        return measured(spark, by_label[name], input_bytes)

    def after(results, done):
        summary = {name: {k: report.median([r[k] for r in reps]) for k in
                          ("seconds", "tuner_peak_bytes", "estimators_peak_bytes",
                           "tuner_peak_over_input", "estimators_peak_over_input")}
                   for name, reps in results.items() if reps}
        lines_of.clear()
        for key in names:
            s = summary.get(label[key])
            if s is None:
                continue
            reuse = "n/a" if key[1] is None else ("on" if key[1] else "off")
            lines_of[label[key]] = [key[0], reuse, key[2], report.fmt(s["tuner_peak_bytes"] / 1e6, ".1f"),
                                    report.fmt(s["tuner_peak_over_input"], ".2f"),
                                    report.fmt(s["estimators_peak_over_input"], ".2f"),
                                    report.fmt(s["seconds"], ".1f")]
        md = (f"# What the tuner itself holds: bytes cached, over the input's cached size\n\n"
              f"- data: flights x weather x planes, --fraction {args.fraction} -> {rows:,} rows; "
              f"input cached size {input_bytes / 1e6:.2f} MB (memory + disk)\n"
              f"- search: {described}, {len(grid)} settings x 3 folds, grid mode\n"
              f"- stage reuse Param `{REUSE}`: {'present' if has_reuse else 'absent in this build (n/a)'}\n"
              f"{report.machine_line(info)}\n\n"
              + report.table(["tuner", "stage reuse", "input", "tuner peak MB", "tuner peak / input",
                              "estimators peak / input", "seconds"], list(lines_of.values())) + "\n\n"
              "\"tuner\": Dataset caches created during `fit` (the tuner's: input, fold splits, "
              "reused stage outputs); \"estimators\": RDDs the estimators persisted themselves "
              "(RandomForest's bagged points). Peaks are memory + disk bytes at one moment, "
              "sampled every 0.2 s, in multiples of the cached input.\n")
        report.write(args, NAME, {"machine": info, "rows": rows, "input_bytes": input_bytes,
                                  "reuse_param": has_reuse, "summary": summary, "runs": results},
                     md, final=done == args.repetitions)

    report.repeat(list(by_label), args.repetitions, run, after)
    spark.stop()


if __name__ == "__main__":
    sys.exit(main())
