"""Ctrl-C during fit cancels the search's Spark jobs and gives control back."""

import json
import os
import signal
import threading
import time

import pytest
from hyperopt import hp
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler

from sparktpe import BayesianCrossValidator, SearchError

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_ctrl_c_stops_a_long_fit_within_seconds_and_leaves_no_job(spark, iris):
    sc = spark.sparkContext
    lr = LogisticRegression(labelCol="target")
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr])
    evaluator = MulticlassClassificationEvaluator(labelCol="target", metricName="accuracy")
    # 300 trials x 3 folds would take many minutes.
    cv = BayesianCrossValidator(estimator=pipeline, evaluator=evaluator, maxEvals=300,
                                searchSpace={lr.regParam: hp.loguniform("regParam", -9, 0),
                                             lr.maxIter: hp.quniform("maxIter", 50, 100, 1)},
                                parallelism=2, seed=0)
    sent = {}
    fit_ended = threading.Event()

    def trials_running():
        """Whether the fit's search has started its trials (its scheduler reports maxEvals)."""
        return any(json.loads(t.progressJson())["total"] for t in list(cv._running_fits()))

    def interrupt():
        # Once the search runs its trials: jobs come and go between fits (and start late on a
        # busy machine), so interrupt while one is seen running, or give up after 30 s.
        seen = set()
        until = time.monotonic() + 30.0
        while not seen and time.monotonic() < until and not fit_ended.is_set():
            if trials_running():
                seen.update(sc.statusTracker().getActiveJobsIds())
            time.sleep(0.01)
        if fit_ended.is_set():
            return  # fit ended some other way: no Ctrl-C for the rest of the session
        sent["jobs"] = seen
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    interrupter = threading.Thread(target=interrupt, daemon=True)
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            cv.fit(iris)
    finally:
        fit_ended.set()
        interrupter.join()
    returned_after = time.monotonic() - sent["at"]
    assert sent["jobs"], "the search should have had Spark jobs running when Ctrl-C came"
    assert returned_after < 10.0
    deadline = time.monotonic() + 10
    while sc.statusTracker().getActiveJobsIds() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(sc.statusTracker().getActiveJobsIds()) == []
    # The session is still usable, and a new search runs to its end (a short one: 2 trials of
    # 2 folds, a few iterations each).
    quick = cv.copy().setMaxEvals(2).setNumFolds(2).setSearchSpace(
        {lr.regParam: hp.loguniform("regParam", -9, 0), lr.maxIter: hp.quniform("maxIter", 2, 5, 1)})
    assert len(quick.fit(iris).avgMetrics) == 2


def _live_counts(spark):
    """(Python threads, JVM threads, names of sparktpe JVM threads, open sockets of this process)."""
    threads = spark.sparkContext._jvm.java.lang.Thread.getAllStackTraces().keySet().toArray()
    names = sorted(t.getName() for t in threads if t.getName().startswith("sparktpe-"))
    sockets = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # closed while we looked
            pass
    return threading.active_count(), len(threads), names, sockets


def test_timed_out_fits_leave_no_thread_or_socket_behind(spark, iris):
    lr = LogisticRegression(labelCol="target", maxIter=20)
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr])
    cv = BayesianCrossValidator(
        estimator=pipeline, maxEvals=300, numFolds=2, parallelism=2, seed=0, timeout=1.0,
        evaluator=MulticlassClassificationEvaluator(labelCol="target", metricName="accuracy"),
        searchSpace={lr.regParam: hp.loguniform("regParam", -9, 0)})
    warm_up = cv.copy({lr.maxIter: 2}).setMaxEvals(1)  # 3 fits of 2 iterations, not 20
    warm_up.clear(warm_up.timeout)
    warm_up.fit(iris)  # starts py4j's callback server and the proposer thread, once
    before = _live_counts(spark)
    for _ in range(3):
        try:
            stopped = cv.fit(iris).stopReason
        except SearchError as e:  # a trial's fold alone takes about 1.5 s: often none finishes
            stopped = str(e)
        assert "timeout (1.0 s) reached" in stopped
    time.sleep(1.0)  # let cancelled tasks wind down
    after = _live_counts(spark)
    print(f"\nPython threads {before[0]} -> {after[0]}, JVM threads {before[1]} -> {after[1]}, "
          f"sparktpe JVM threads {before[2]} -> {after[2]}, sockets {before[3]} -> {after[3]}")
    assert after[2] == before[2] == ["sparktpe-proposer"]  # no worker pool outlives its fit
    assert after[0] - before[0] <= 1  # py4j may pool one more callback connection
    assert after[3] - before[3] <= 1
    assert after[1] - before[1] <= 4  # a leaked pool would add 2 threads per fit
