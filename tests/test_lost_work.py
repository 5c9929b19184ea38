"""Finished trials are never lost: a proposer error, cancel(), Ctrl-C and a failed final refit
end fit with an error carrying the trials (a DataFrame and the initialTrials JSON), and
initialTrials=error continues the search.

Each search runs with parallelism 1, where trial k is proposed only after trial k-1 finished.
The moment of the interruption is fixed by a scope function on the space that acts when it
sees the third trial's value (known from an uninterrupted run with the same seed): no sleeps.
"""

import os
import signal

import pytest
from hyperopt import hp
from hyperopt.pyll import scope
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator, RegressionEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.linalg import Vectors
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import ParamGridBuilder

from sparktpe import (BayesianCrossValidator, BayesianTrainValidationSplit, SearchError,
                      SearchInterrupted)

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ACTION = {}  # value -> what to do when the space draws it


@scope.define
def act_on_value(x):
    """Identity, except that it runs ACTION's action the first time it sees that value."""
    action = ACTION.get(x) if isinstance(x, float) else None
    if action is not None:
        del ACTION[x]
        action()
    return x


def tuner(**kwargs):
    # What is kept is the trials, whatever the model: least squares by the normal equations is
    # one Spark job per fit and rmse one per score (LogisticRegression: one job per iteration).
    lin = LinearRegression(labelCol="target", solver="normal")
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lin])
    space = {lin.regParam: scope.act_on_value(hp.uniform("regParam", 0.0, 0.5))}
    return BayesianCrossValidator(
        estimator=pipeline, searchSpace=space, maxEvals=4, numFolds=2, seed=11, parallelism=1,
        evaluator=RegressionEvaluator(labelCol="target", metricName="rmse"),
        **kwargs)


@pytest.fixture(scope="module")
def reference(iris):
    """(regParam, metric) of each trial of the uninterrupted search."""
    rows = tuner().fit(iris).trials.orderBy("trialId").collect()
    return [(r["regParam"], r["metric"]) for r in rows]


def carried(error):
    return error.trials.orderBy("trialId").collect()


def assert_first_two_kept(rows, reference):
    ok = [r for r in rows if r["status"] == "ok"]
    assert [r["trialId"] for r in ok[:2]] == [0, 1]
    for row, (reg, metric) in zip(ok[:2], reference):
        assert row["regParam"] == reg and row["metric"] == pytest.approx(metric, abs=1e-12)


def test_a_proposer_error_carries_the_finished_trials_and_resumes(iris, reference):
    def fail():
        raise RuntimeError("sampling failed on purpose")

    cv = tuner()
    ACTION.clear()
    ACTION[reference[2][0]] = fail
    with pytest.raises(SearchError, match="sampling failed on purpose") as caught:
        cv.fit(iris)
    rows = carried(caught.value)
    assert [(r["trialId"], r["status"]) for r in rows] == [(0, "ok"), (1, "ok")]
    assert_first_two_kept(rows, reference)
    assert '"trialId"' in caught.value.trialsJson
    # initialTrials=the error: the two trials come first, then the same proposals as one search
    resumed = cv.copy().setInitialTrials(caught.value).setMaxEvals(2).fit(iris)
    again = resumed.trials.orderBy("trialId").collect()
    assert [r["regParam"] for r in again] == [reg for reg, _ in reference]
    assert [r["status"] for r in again] == ["ok"] * 4


def test_cancel_carries_the_finished_trials(iris, reference):
    cv = tuner()
    ACTION.clear()
    ACTION[reference[2][0]] = cv.cancel  # from the proposer's callback thread, mid-fit
    with pytest.raises(SearchError, match="cancelled") as caught:
        cv.fit(iris)
    rows = carried(caught.value)
    assert_first_two_kept(rows, reference)
    assert [r["status"] for r in rows[2:]] == ["cancelled"] * (len(rows) - 2)
    assert cv.copy().setInitialTrials(caught.value).getInitialTrials() == caught.value.trialsJson


def test_ctrl_c_raises_search_interrupted_with_the_finished_trials(iris, reference):
    cv = tuner()
    ACTION.clear()
    ACTION[reference[2][0]] = lambda: os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(SearchInterrupted) as caught:
        cv.fit(iris)
    assert isinstance(caught.value, KeyboardInterrupt)
    rows = carried(caught.value)
    assert_first_two_kept(rows, reference)
    # the third trial was proposed as Ctrl-C came: cancelled, or finished if it was that quick
    assert {r["status"] for r in rows[2:]} <= {"cancelled", "ok"}
    assert cv.copy().setInitialTrials(caught.value).getInitialTrials() == caught.value.trialsJson


def test_a_failed_final_refit_carries_the_trials(spark, jvm_frame):
    # Needs the JVM of the merge: a refit failure is then a SearchException with the trials.
    # One row of class 2 lands in the validation part; the training part has classes 0 and 1
    # only, so "binomial" fits every trial, and the refit on all rows (3 classes) fails.
    rows = [(float(i % 2), Vectors.dense([i % 2 + 0.1 * (i % 5), i % 3])) for i in range(40)]
    # in the JVM: the seed hunt's counts then read the rows without a Python worker
    data = jvm_frame(rows + [(2.0, Vectors.dense([5.0, 5.0]))], ["label", "features"])
    seed = next(s for s in range(50)
                if data.randomSplit([0.7, 0.3], s)[1].where("label = 2").count() == 1)
    lr = LogisticRegression(family="binomial", maxIter=5)
    tvs = BayesianTrainValidationSplit(
        estimator=lr, trainRatio=0.7, seed=seed,
        estimatorParamMaps=ParamGridBuilder().addGrid(lr.regParam, [0.01, 0.1]).build(),
        evaluator=MulticlassClassificationEvaluator(metricName="accuracy"))
    with pytest.raises(SearchError, match="Binomial family only supports") as caught:
        tvs.fit(data)
    trials = carried(caught.value)
    assert [(r["trialId"], r["status"]) for r in trials] == [(0, "ok"), (1, "ok")]
    assert all(r["metric"] > 0.5 for r in trials)
