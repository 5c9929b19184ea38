"""The driver of tests/test_cluster.py: sparktpe searches on a Spark standalone cluster.

The test process already owns a local SparkContext (one per process), so the cluster's driver
runs here, in a process of its own:

    python cluster_job.py MASTER_URL EVENT_LOG_DIR

It runs a grid search and a TPE search, then waits for a line on stdin (the test is ready to
kill a worker), prints "search started", runs a longer grid search with 2 fits in flight,
printing "trial finished" once its first trial is done (the test kills a worker then), and ends
by printing one JSON line of results. Spark's event log goes to EVENT_LOG_DIR.

The test imports the data and the searches from here, to run the very same searches on its
local session and compare.
"""

import json
import sys
import threading
import time

from hyperopt import hp
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.tuning import ParamGridBuilder
from pyspark.sql import SparkSession
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType
from sklearn.datasets import load_breast_cancer

import sparktpe
from sparktpe import BayesianCrossValidator

NUM_FOLDS = 2
SEARCH_STARTED = "search started"
TRIAL_FINISHED = "trial finished"
QUICK_JVM = "-XX:TieredStopAtLevel=1"
# 8 fits and a refit: the worker is killed once the first trial is done, with 3 trials to go.
LOSS_GRID = [0.0, 1e-3, 1e-2, 1.0]
COMPARE_GRID = LOSS_GRID[1::2]  # so one local run of LOSS_GRID gives the expected metrics of both


def breast_cancer(spark):
    """Breast cancer (569 rows, 30 features): ``features``, ``label``, and ``fold`` = row % 2.

    Always two partitions holding the same rows in the same order, whatever the session's
    default parallelism, so that fits on the cluster and on local[2] add up the same numbers.
    """
    data = load_breast_cancer()
    names = [f"x{i}" for i in range(data.data.shape[1])]
    schema = StructType([StructField(n, DoubleType(), False) for n in names]
                        + [StructField("label", DoubleType(), False),
                           StructField("fold", IntegerType(), False)])
    rows = [tuple(float(v) for v in x) + (float(y), i % NUM_FOLDS)
            for i, (x, y) in enumerate(zip(data.data, data.target))]
    frame = spark.createDataFrame(spark.sparkContext.parallelize(rows, 2), schema)
    return VectorAssembler(inputCols=names, outputCol="features").transform(frame).select(
        "features", "label", "fold")


def _cross_validator(**kwargs):
    # Every L-BFGS iteration is a Spark job: 5 keep a fit to about ten jobs, and the AUC still
    # depends on regParam. What is tested is the tuner on a cluster, not convergence.
    lr = LogisticRegression(maxIter=5)
    return lr, BayesianCrossValidator(estimator=lr, evaluator=BinaryClassificationEvaluator(),
                                      numFolds=NUM_FOLDS, foldCol="fold", **kwargs)


def grid_search(reg_params, parallelism=1):
    """Grid search over LogisticRegression's ``regParam``."""
    lr, cv = _cross_validator(parallelism=parallelism)
    return cv.setEstimatorParamMaps(ParamGridBuilder().addGrid(lr.regParam, reg_params).build())


def tpe_search():
    """Four TPE trials over ``regParam``, one at a time, with a fixed seed: a repeatable search
    (two random startup trials, then two that TPE proposes from the metrics before them)."""
    lr, cv = _cross_validator(parallelism=1, seed=11, maxEvals=4)
    return cv.setSearchSpace({lr.regParam: hp.loguniform("reg", -6, 0)})


def summary(model):
    """What the test compares: ``avgMetrics`` and the trials, as plain JSON-able values."""
    trials = [{"trialId": r["trialId"], "regParam": r["regParam"], "metric": r["metric"],
               "status": r["status"]} for r in model.trials.orderBy("trialId").collect()]
    return {"avgMetrics": list(model.avgMetrics), "trials": trials}


def cluster_session(master, event_log_dir):
    """A session on the standalone cluster, with the sparktpe jar added as a user would add it."""
    builder = (sparktpe.configure(SparkSession.builder)
               .master(master)
               .appName("sparktpe-cluster-test")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.executor.memory", "512m")
               # Short-lived JVMs on 2 cores: C1 only spends a third less CPU on compiling.
               .config("spark.driver.extraJavaOptions", QUICK_JVM)
               .config("spark.executor.extraJavaOptions", QUICK_JVM)
               .config("spark.cores.max", "2")
               # Schedule nothing before both executors (2 cores) have registered.
               .config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
               .config("spark.scheduler.maxRegisteredResourcesWaitingTime", "60s")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               # One plain JSON-lines file, EVENT_LOG_DIR/<application id>, for the test to read.
               .config("spark.eventLog.enabled", "true")
               .config("spark.eventLog.dir", event_log_dir)
               .config("spark.eventLog.compress", "false")
               .config("spark.eventLog.rolling.enabled", "false"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def executors(spark):
    """How many executors are registered (the status tracker also lists the driver)."""
    return len(spark.sparkContext._jsc.sc().statusTracker().getExecutorInfos()) - 1


def print_after_the_first_trial(tuner, done):
    """Prints TRIAL_FINISHED once the running search of ``tuner`` has finished a trial, unless
    ``done`` is set first. The second trial is then running, and the others are still to run."""
    while not done.is_set():
        if any(json.loads(t.progressJson())["finished"] >= 1 for t in list(tuner._running_fits())):
            print(TRIAL_FINISHED, flush=True)
            return
        done.wait(0.01)  # the search reports no event to Python; look again, or end with it


def main(master, event_log_dir):
    started = time.monotonic()
    spark = cluster_session(master, event_log_dir)
    try:
        data = breast_cancer(spark)
        seconds = {"startup": time.monotonic() - started}
        result = {"grid": summary(grid_search(COMPARE_GRID, parallelism=2).fit(data))}
        seconds["grid"] = time.monotonic() - started - seconds["startup"]
        result["tpe"] = summary(tpe_search().fit(data))
        result["executorsBeforeLoss"] = executors(spark)
        seconds["tpe"] = time.monotonic() - started - seconds["startup"] - seconds["grid"]
        sys.stdin.readline()  # the test is ready to kill a worker
        print(SEARCH_STARTED, flush=True)
        loss_started = time.monotonic()
        loss_search = grid_search(LOSS_GRID, parallelism=2)
        done = threading.Event()
        watcher = threading.Thread(target=print_after_the_first_trial, args=(loss_search, done))
        watcher.start()
        try:
            result["loss"] = summary(loss_search.fit(data))
        finally:
            done.set()
            watcher.join()
        seconds["search with a worker lost"] = time.monotonic() - loss_started
        result["executorsAfterLoss"] = executors(spark)
        result["seconds"] = seconds
    finally:
        spark.stop()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
