"""How far past its ``timeout`` a search's ``fit`` returns (issue 10, point 15).

A ``BayesianCrossValidator`` grid search (2 folds, ``parallelism`` 2) over a
``LogisticRegression`` with ``maxIter=200`` and ``tol=0`` (so every fit runs all 200 iterations,
one Spark job each: several seconds per fit, about 20 s on the loaded 2-core test machine) on a
synthetic cached DataFrame, with ``timeout`` (default 5 s) well inside the first fits. So the
timeout cuts the fits in flight, in the middle of LogisticRegression's iterations, and no trial
finishes: ``fit`` then raises "no trial succeeded" and runs no refit, which makes the time from
the timeout to ``fit``'s end exactly the cost of stopping. (With a finished trial, ``fit`` also
refits the best one after the timeout, by design: that refit's cost, one plain fit on all rows,
is printed for reference.)

``overshoot`` = seconds from ``fit``'s start + ``timeout`` until ``fit`` returns or raises.

Run from the repository root with the jar to measure (default: the one in target/):

    SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python bench/timeout_overshoot.py [--jar PATH]
        [--rows 20000] [--timeout 5] [--repetitions 3]

It prints one line per repetition and the median.
"""

import argparse
import os
import statistics
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jar", help="sparktpe jar to load (default: target/scala-2.13's)")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=5.0, help="the tuner's timeout, seconds")
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    if args.jar:
        os.environ["SPARKTPE_JAR"] = os.path.abspath(args.jar)

    import numpy as np
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.linalg import Vectors
    from pyspark.ml.tuning import ParamGridBuilder
    from pyspark.sql import SparkSession

    import sparktpe
    from sparktpe import BayesianCrossValidator

    spark = (sparktpe.configure(SparkSession.builder.master("local[2]"))
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")

    rng = np.random.default_rng(7)
    x = rng.normal(size=(args.rows, args.features))
    w = rng.normal(size=args.features)
    y = (x @ w + rng.normal(scale=2.0, size=args.rows) > 0).astype(float)
    df = spark.createDataFrame([(float(label), Vectors.dense(row)) for label, row in zip(y, x)],
                               ["label", "features"]).repartition(2).cache()
    df.count()

    lr = LogisticRegression(maxIter=200, tol=0.0)
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.0, 0.01, 0.1, 1.0]).build()
    evaluator = BinaryClassificationEvaluator()

    started = time.perf_counter()
    lr.copy({lr.regParam: 0.0}).fit(df)
    refit = time.perf_counter() - started
    print(f"one fit on all {args.rows} rows (the refit's cost): {refit:.2f} s", flush=True)
    print(f"timeout {args.timeout} s", flush=True)

    overshoots = []
    for rep in range(args.repetitions):
        cv = BayesianCrossValidator(estimator=lr, estimatorParamMaps=grid, evaluator=evaluator,
                                    numFolds=2, parallelism=2, seed=3, timeout=args.timeout,
                                    showProgress=False)
        started = time.perf_counter()
        try:
            model = cv.fit(df)
            ended = f"returned, stopped because {model.stopReason}"
        except sparktpe.SearchError as e:
            ended = f"raised {str(e).splitlines()[0][:90]}"
        seconds = time.perf_counter() - started
        overshoot = seconds - args.timeout
        overshoots.append(overshoot)
        print(f"repetition {rep + 1}: fit {seconds:.2f} s, overshoot {overshoot:.2f} s; {ended}",
              flush=True)
    if not overshoots:
        return
    median = statistics.median(overshoots)
    print(f"median overshoot {median:.2f} s over {len(overshoots)} repetitions "
          f"(jar {os.environ.get('SPARKTPE_JAR', 'target')})")
    spark.stop()


if __name__ == "__main__":
    sys.exit(main())
