"""Budgets and stopping rules from Python: timeout, earlyStopRounds, targetMetric."""

import pytest
from hyperopt import hp
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.tuning import ParamGridBuilder

from sparktpe import BayesianCrossValidator, BayesianTrainValidationSplit

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def setup():
    lr = LogisticRegression(labelCol="target", maxIter=5)  # every iteration is a Spark job
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr])
    return pipeline, lr, MulticlassClassificationEvaluator(labelCol="target", metricName="accuracy")


def test_timeout_returns_the_best_finished_trial(iris):
    # Whatever the machine's load: a first search finishes 2 trials; continued from them with a
    # timeout shorter than one fit, the search stops for the timeout and returns the best of the
    # trials that finished (those it was handed, and any that beat the clock). The JVM's
    # SchedulerSuite times the timeout itself against latched fits; this checks that the Param
    # crosses from Python and what the model then holds.
    pipeline, lr, evaluator = setup()
    space = {lr.regParam: hp.loguniform("regParam", -9, 0)}
    first = BayesianCrossValidator(estimator=pipeline, evaluator=evaluator, maxEvals=2,
                                   searchSpace=space, numFolds=2, seed=1).fit(iris)
    cv = BayesianCrossValidator(estimator=pipeline, evaluator=evaluator, maxEvals=300, timeout=0.5,
                                searchSpace=space, numFolds=2, parallelism=2, seed=1,
                                initialTrials=first)
    model = cv.fit(iris)
    assert model.stopReason == "timeout (0.5 s) reached"
    rows = model.trials.collect()
    assert 2 <= len(rows) < 300
    assert {r.status for r in rows} <= {"ok", "cancelled"}
    finished = [r.metric for r in rows if r.status == "ok"]
    assert len(finished) >= 2 and max(finished) == max(m for m in model.avgMetrics if m == m)
    assert model.bestModel.stages[-1].getRegParam() in [
        settings[lr.regParam] for settings, r in zip(model.getEstimatorParamMaps(),
                                                     model.trials.orderBy("trialId").collect())
        if r.status == "ok" and r.metric == max(finished)]


def test_early_stop_rounds_and_target_metric(iris):
    pipeline, lr, evaluator = setup()
    same = ParamGridBuilder().addGrid(lr.regParam, [0.01] * 6).build()
    model = BayesianTrainValidationSplit(estimator=pipeline, estimatorParamMaps=same, evaluator=evaluator,
                                         earlyStopRounds=2, seed=4).fit(iris)
    assert len(model.validationMetrics) == 3
    assert model.stopReason == "no improvement of more than 0.0 (relative) in 2 trials"
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.001, 0.01, 0.1, 1.0]).build()
    model = BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=evaluator,
                                   targetMetric=0.9, numFolds=2, seed=4).fit(iris)
    assert len(model.avgMetrics) == 1 and model.avgMetrics[0] >= 0.9
    assert model.stopReason == "targetMetric (0.9) reached"


@pytest.mark.parametrize("kwargs, expected", [
    (dict(timeout=0), "timeout = 0.0 is not allowed: timeout must be > 0 seconds"),
    (dict(earlyStopRounds=0), "earlyStopRounds = 0 is not allowed: earlyStopRounds must be >= 1"),
    (dict(earlyStopTolerance=-1), "earlyStopTolerance = -1.0 is not allowed: earlyStopTolerance must be >= 0"),
])
def test_bad_stopping_values_are_refused(kwargs, expected):
    with pytest.raises(ValueError, match=expected):
        BayesianCrossValidator(**kwargs)


def test_median_pruning_stops_a_poor_trial_after_one_fold(iris):
    pipeline, lr, evaluator = setup()
    # maxIter 0 leaves the coefficients at zero: accuracy 1/3, far below the median. 2 folds:
    # the pruned trial's second is never fitted.
    grid = ParamGridBuilder().addGrid(lr.maxIter, [5, 0, 5]).build()
    model = BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=evaluator,
                                   numFolds=2, pruning="median", pruningMinTrials=1, seed=4).fit(iris)
    rows = model.trials.orderBy("trialId").collect()
    assert [r.status for r in rows] == ["ok", "pruned", "ok"]
    assert len(rows[1].foldMetrics) == 2
    assert sum(m == m for m in rows[1].foldMetrics) == 1 and rows[1].metric < 0.5
    assert model.bestModel.stages[-1].getMaxIter() == 5
    # TPE hears of a pruned trial (ranked after the finished ones) and goes on proposing.
    tpe = BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid[:2], evaluator=evaluator,
                                 searchAlgorithm="tpe", maxEvals=2, numFolds=2, pruning="median",
                                 pruningMinTrials=1, seed=4).fit(iris)
    statuses = {settings[lr.maxIter]: r.status for settings, r in
                zip(tpe.getEstimatorParamMaps(), tpe.trials.orderBy("trialId").collect())}
    first = tpe.getEstimatorParamMaps()[0][lr.maxIter]
    assert statuses == {5: "ok", 0: "ok" if first == 0 else "pruned"}


def test_bad_pruning_values_are_refused():
    with pytest.raises(ValueError, match="pruning = mean is not allowed: one of none, median"):
        BayesianCrossValidator(pruning="mean")
    with pytest.raises(ValueError, match="pruningMinTrials = 0 is not allowed"):
        BayesianCrossValidator().setPruningMinTrials(0)
