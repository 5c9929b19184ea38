"""Ctrl-C during fit cancels the search's Spark jobs and gives control back."""

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

from sparktpe import BayesianCrossValidator

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

    def interrupt():
        # Jobs come and go between fits: sample for a second so that one is surely seen.
        seen = set()
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            seen.update(sc.statusTracker().getActiveJobsIds())
            time.sleep(0.02)
        sent["jobs"] = seen
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(7.0, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            cv.fit(iris)
    finally:
        timer.cancel()
    returned_after = time.monotonic() - sent["at"]
    assert sent["jobs"], "the search should have had Spark jobs running when Ctrl-C came"
    assert returned_after < 10.0
    deadline = time.monotonic() + 10
    while sc.statusTracker().getActiveJobsIds() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(sc.statusTracker().getActiveJobsIds()) == []
    # The session is still usable, and a new search runs to its end.
    quick = cv.copy().setMaxEvals(2)
    assert len(quick.fit(iris).avgMetrics) == 2
