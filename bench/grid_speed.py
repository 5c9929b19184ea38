"""Grid speed on realistic pipelines: Spark's CrossValidators vs sparktpe's grid mode (issue 11, 3a).

Three pipelines ("cases"), each tuned over one small grid, 3 folds from the fixed ``fold``
column, area under ROC:

* ``example 10%`` and ``example 100%``: the pipeline of ``examples/flights.py`` (two
  StringIndexers, a OneHotEncoder, an assembler, LogisticRegression) on a 10% sample and on all
  327k flights; grid regParam x elasticNetParam;
* ``heavy``: flights joined with the weather and planes tables (bench/flights_data.py): an
  Imputer, two QuantileDiscretizers, five StringIndexers, a OneHotEncoder, an assembler and a
  RandomForestClassifier; grid maxDepth x numTrees.

For each case and ``parallelism`` (1 and 2) it times ``fit`` of Spark's Scala ``CrossValidator``
(the JVM class, no Python in its loop), PySpark's Python ``CrossValidator`` and sparktpe's
``BayesianCrossValidator`` in grid mode: same grid, same folds, same run, in an order rotated per
repetition (bench/report.py), after an untimed warm-up of each (not with ``--quick``).

How to read the table (one row per case and parallelism, medians over repetitions):

* "X s": median wall seconds of ``fit``, the final refit of the best setting included;
* "/ Scala CV": the median of per-repetition ratios to Scala's ``CrossValidator`` in the same
  repetition; below 1 is faster. Issue 11's target: sparktpe at most 0.5 on ``heavy`` at
  parallelism 2 (it needs the stage reuse of issue 11 point 1: without it sparktpe refits the
  untuned stages for every setting, as Spark does);
* "max avgMetrics diff": the largest absolute difference, over settings and repetitions,
  between a contender's ``avgMetrics`` and Scala's: the same folds give the same metrics up to
  Spark's run-to-run noise (~1e-5 for LogisticRegression; forests are seeded, so ~0).

    project/dev.sh bench --parts grid [--quick]
    .venv/bin/python bench/grid_speed.py [--quick] [--repetitions 2] [--cases ...] [--parallelisms 1 2]
"""

import sys

from pyspark.ml.tuning import ParamGridBuilder

import contenders
import flights_data
import report

NAME = "grid_speed"
CASES = ["example 10%", "example 100%", "heavy"]
# One repetition by default keeps run_all's full form under an hour (this part: 20 minutes;
# two repetitions, as in bench/results/grid_speed.md, take 28). The price is noise: the two
# repetitions there differ by up to 12% on the heavy case and up to 23% on "example 10%".
FULL = {"repetitions": 1, "fraction": None, "parallelisms": [1, 2], "cases": CASES,
        "fractions": {"example 10%": 0.1, "example 100%": 1.0, "heavy": 0.1}}
# the whole table costs as much as the other two cases together: never more than one repetition
MAX_REPETITIONS = {"example 100%": 1}
# --quick: one tiny case, a 1-setting grid, parallelism 2: checks that the contenders run and the
# report is written, measures nothing (bench/tuner_memory.py's --quick runs the heavy pipeline)
QUICK = {"repetitions": 1, "fraction": None, "parallelisms": [2], "cases": ["example 10%"],
         "fractions": {"example 10%": 0.005, "example 100%": 0.005, "heavy": 0.005}}

SCALA, PYSPARK, SPARKTPE = "Scala CV", "PySpark CV", "sparktpe grid"
NAMES = [SCALA, PYSPARK, SPARKTPE]
FIT = {SCALA: contenders.fit_scala_cv, PYSPARK: contenders.fit_pyspark_cv,
       SPARKTPE: lambda est, grid, ev, p, data: contenders.fit_sparktpe(
           contenders.sparktpe_grid(est, grid, ev, p), data)}


def parse_args(argv=None):
    p = report.parser(__doc__.splitlines()[0], FULL, QUICK)
    p.add_argument("--parallelisms", type=report.positive_int, nargs="+", default=None,
                   help="parallelisms " + report.default_help("parallelisms", FULL, QUICK))
    p.add_argument("--cases", nargs="+", choices=CASES, default=None,
                   help="which pipelines (default all)")
    args = report.finish(p.parse_args(argv))
    if args.fraction is not None:  # --fraction: every case samples that share instead
        args.fractions = {case: args.fraction for case in args.fractions}
    return args


def case_setup(spark, case, fraction, quick=False):
    """(data, rows, pipeline, grid, grid description) for one case; ``quick``: 1 setting, not 4."""
    if case == "heavy":
        data, rows = flights_data.load_joined(spark, fraction)
        pipeline, forest = flights_data.heavy_pipeline()
        depths, trees = ([4], [10]) if quick else ([4, 8], [10, 20])
        grid = (ParamGridBuilder().addGrid(forest.maxDepth, depths)
                .addGrid(forest.numTrees, trees).build())
        return data, rows, pipeline, grid, f"RandomForest maxDepth {depths} x numTrees {trees}"
    data, rows = flights_data.load(spark, fraction)
    pipeline, lr = flights_data.pipeline()
    regs, nets = ([1e-2], [0.0]) if quick else ([1e-4, 1e-2], [0.0, 0.5])
    grid = flights_data.space_grid(lr, reg_params=regs, elastic_nets=nets)
    return data, rows, pipeline, grid, f"LogisticRegression regParam {regs} x elasticNetParam {nets}"


def summarise(results, parallelisms):
    """Per parallelism: median seconds, median paired ratio to Scala CV, max metric gap."""
    rows = {}
    for p in parallelisms:
        row = {}
        for name in NAMES:
            runs = results[f"{name} p={p}"]
            scala = results[f"{SCALA} p={p}"][:len(runs)]
            row[name] = {
                "median_seconds": report.median([r["seconds"] for r in runs]),
                "median_ratio_to_scala": report.median(
                    [r["seconds"] / s["seconds"] for r, s in zip(runs, scala)]),
                "max_avgMetrics_diff": max(contenders.max_gap(r["avgMetrics"], s["avgMetrics"])
                                           for r, s in zip(runs, scala))}
        rows[str(p)] = row
    return rows


def markdown(args, cases, info):
    columns = ["case", "rows", "repetitions", "parallelism"] + [f"{n} s" for n in NAMES] + [
        f"{n} / Scala CV" for n in NAMES[1:]] + [f"max avgMetrics diff {n}" for n in NAMES[1:]]
    lines = []
    for case, c in cases.items():
        for p, row in c["summary"].items():
            lines.append([case, f"{c['rows']:,}", c["repetitions"], p]
                         + [report.fmt(row[n]["median_seconds"], ".1f") for n in NAMES]
                         + [report.fmt(row[n]["median_ratio_to_scala"], ".2f") for n in NAMES[1:]]
                         + [report.fmt(row[n]["max_avgMetrics_diff"], ".1e") for n in NAMES[1:]])
    grids = "\n".join(f"- {case}: {c['grid']} ({c['settings']} settings x 3 folds + 1 refit)"
                      for case, c in cases.items())
    return (f"# Grid speed on realistic pipelines: Spark's CrossValidators vs sparktpe grid\n\n"
            f"{grids}\n- 3 folds from the `fold` column; area under ROC; repetitions per case in the "
            f"table (the whole table: at most {MAX_REPETITIONS['example 100%']}), contenders in rotated order; wall seconds of `fit` (final refit included)\n"
            f"{report.machine_line(info)}\n\n"
            + report.table(columns, lines) + "\n\n"
            "Medians over repetitions. \"/ Scala CV\": median of per-repetition ratios of wall "
            "seconds to Spark's Scala CrossValidator (below 1 is faster; target for sparktpe on "
            "heavy at parallelism 2: <= 0.5). \"max avgMetrics diff\": largest absolute "
            "difference to Scala's avgMetrics over settings and repetitions.\n")


def main(argv=None):
    args = parse_args(argv)
    spark = flights_data.start_spark()
    info = report.machine(spark)
    evaluator = flights_data.evaluator()
    cases, raw = {}, {}
    for case in args.cases:
        data, rows, pipeline, grid, described = case_setup(spark, case, args.fractions[case], args.quick)
        repetitions = min(args.repetitions, MAX_REPETITIONS.get(case, args.repetitions))
        report.log(f"{NAME}: {case}: {rows:,} rows, {len(grid)} settings, parallelism "
                   f"{args.parallelisms}, {repetitions} repetition(s)")
        # untimed warm-up (JIT, class loading) of each contender, one setting, once per pipeline:
        # "example 100%" runs the code "example 10%" warmed (a minute saved)
        warmed = case == "example 100%" and "example 10%" in args.cases[:args.cases.index(case)]
        if not args.quick and not warmed:
            for fit in FIT.values():
                fit(pipeline, grid[:1], evaluator, max(args.parallelisms), data)
        configs = [f"{n} p={p}" for p in args.parallelisms for n in NAMES]

        def run(config, rep):
            name, p = config.rsplit(" p=", 1)
            return FIT[name](pipeline, grid, evaluator, int(p), data)

        def after(results, done, repetitions):
            cases[case] = {"rows": rows, "fraction": args.fractions[case], "grid": described,
                           "settings": len(grid), "repetitions": done,
                           "summary": summarise(results, args.parallelisms)}
            raw[case] = results
            report.write(args, NAME, {"machine": info, "cases": cases, "runs": raw},
                         markdown(args, cases, info),
                         final=done == repetitions and case == args.cases[-1])

        report.repeat(configs, repetitions, run,
                      lambda results, done: after(results, done, repetitions))
        data.unpersist()
    spark.stop()


if __name__ == "__main__":
    sys.exit(main())
