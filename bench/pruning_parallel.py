"""How many fits median pruning saves at parallelism 1, 2 and 4, and what it costs in best metric.

Random search (so every configuration of a seed evaluates the same settings) over a NaiveBayes
(model type and smoothing) on scikit-learn's breast-cancer data (569 rows, 30 non-negative
features), 3 folds, log loss (smaller is better; one Spark job per evaluation), ``maxEvals``
trials (default 16), with ``pruning="none"`` and ``"median"`` (``pruningMinTrials`` 5). Fits
are counted exactly: the folds each trial scored (a pruned trial's partial ``foldMetrics``), so
the machine's load does not blur them; the refit is left out. Wall seconds are printed too, but
on a shared machine they are noise.

Prints one JSON line per (seed, parallelism, pruning) and a Markdown table of medians over seeds.
Run from the repository root after ``project/sbt package``:

    SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$PWD/.venv/bin/python .venv/bin/python bench/pruning_parallel.py

``--label`` names the run (e.g. for a jar given by ``$SPARKTPE_JAR``, to compare versions).
"""

import argparse
import json
import math
import statistics
import time

from hyperopt import hp
from pyspark.ml.classification import NaiveBayes
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.linalg import Vectors
from pyspark.sql import SparkSession
from sklearn.datasets import load_breast_cancer

import sparktpe
from sparktpe import BayesianCrossValidator


def start_spark():
    builder = (SparkSession.builder.master("local[2]").appName("pruning_parallel")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "2"))
    return sparktpe.configure(builder).getOrCreate()


def cancer(spark):
    x, y = load_breast_cancer(return_X_y=True)
    rows = [(Vectors.dense(f.tolist()), float(label)) for f, label in zip(x, y)]
    return spark.createDataFrame(rows, ["features", "label"]).repartition(2).cache()


def space(bayes):
    return {bayes.modelType: hp.choice("modelType", ["multinomial", "complement", "gaussian"]),
            bayes.smoothing: hp.loguniform("smoothing", -7, 5)}


def run(data, seed, parallelism, pruning, max_evals):
    bayes = NaiveBayes()
    cv = BayesianCrossValidator(estimator=bayes, searchSpace=space(bayes), searchAlgorithm="random",
                                evaluator=MulticlassClassificationEvaluator(metricName="logLoss"), numFolds=3, seed=seed,
                                maxEvals=max_evals, parallelism=parallelism, pruning=pruning,
                                showProgress=False)
    started = time.perf_counter()
    model = cv.fit(data)
    seconds = time.perf_counter() - started
    rows = model.trials.collect()
    fits = sum(sum(1 for m in r["foldMetrics"] if not math.isnan(m)) for r in rows)
    ok = [r["metric"] for r in rows if r["status"] == "ok"]  # log loss: smaller is better
    return {"seed": seed, "parallelism": parallelism, "pruning": pruning, "trials": len(rows),
            "pruned": sum(r["status"] == "pruned" for r in rows), "fits": fits,
            "best": min(ok), "seconds": round(seconds, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--parallelisms", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--pruning", nargs="+", default=["none", "median"])
    parser.add_argument("--max-evals", type=int, default=16)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    spark = start_spark()
    data = cancer(spark)
    data.count()
    results = []
    for seed in args.seeds:
        for p in args.parallelisms:
            for pruning in args.pruning:
                r = dict(run(data, seed, p, pruning, args.max_evals), label=args.label)
                results.append(r)
                print(json.dumps(r), flush=True)
    print(f"\n| parallelism | pruning{' ' + args.label if args.label else ''} | fits (median) "
          "| fits / unpruned | best log loss (median) | best - unpruned best (median) |")
    print("|---|---|---|---|---|---|")
    for p in args.parallelisms:
        base = {r["seed"]: r for r in results if r["parallelism"] == p and r["pruning"] == "none"}
        for pruning in args.pruning:
            mine = [r for r in results if r["parallelism"] == p and r["pruning"] == pruning]
            ratio = [r["fits"] / base[r["seed"]]["fits"] for r in mine if r["seed"] in base]
            diff = [r["best"] - base[r["seed"]]["best"] for r in mine if r["seed"] in base]
            print(f"| {p} | {pruning} | {statistics.median(r['fits'] for r in mine)} "
                  f"| {statistics.median(ratio) if ratio else float('nan'):.2f} "
                  f"| {statistics.median(r['best'] for r in mine):.5f} "
                  f"| {statistics.median(diff) if diff else float('nan'):+.5f} |")
    spark.stop()


if __name__ == "__main__":
    main()
