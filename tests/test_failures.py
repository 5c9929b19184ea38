"""Failing trials, a failing proposer, and bad Params."""

import pytest
from hyperopt import hp
from hyperopt.pyll import scope
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.tuning import ParamGridBuilder

from sparktpe import BayesianCrossValidator, SearchError

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def iris_pipeline():
    lr = LogisticRegression(labelCol="target", maxIter=5)  # every iteration is a Spark job
    return Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr]), lr


def accuracy():
    return MulticlassClassificationEvaluator(labelCol="target", metricName="accuracy")


def test_a_trial_whose_fit_throws_is_recorded_and_the_search_goes_on(iris):
    pipeline, lr = iris_pipeline()
    # The binomial family cannot fit iris's 3 classes: that grid point's fits throw.
    grid = ParamGridBuilder().addGrid(lr.family, ["multinomial", "binomial", "auto"]).build()
    model = BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=accuracy(),
                                   numFolds=2, parallelism=2, seed=1).fit(iris)
    rows = model.trials.orderBy("trialId").collect()
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert "Binomial family only supports 1 or 2 outcome classes" in rows[1]["error"]
    assert rows[0]["error"] is None
    assert model.avgMetrics[1] != model.avgMetrics[1]  # NaN
    assert model.avgMetrics[0] > 0.9 and model.avgMetrics[2] > 0.9
    assert model.bestModel.stages[-1].getFamily() in ("multinomial", "auto")
    assert model.transform(iris).count() == 150


def test_a_proposed_setting_whose_fit_throws_fails_only_its_trial(iris):
    pipeline, lr = iris_pipeline()
    # "binomial" passes the Param's validator but cannot fit iris's 3 classes. (A range that
    # the validator refuses fails before any job instead: see test_bad_spaces.py.)
    model = BayesianCrossValidator(estimator=pipeline, evaluator=accuracy(),
                                   searchSpace={lr.family: hp.choice("family", ["multinomial", "binomial"]),
                                                lr.regParam: hp.uniform("regParam", 0.0, 0.1)},
                                   searchAlgorithm="random", maxEvals=6, numFolds=2,
                                   parallelism=2, seed=4).fit(iris)
    rows = model.trials.orderBy("trialId").collect()
    failed = [r for r in rows if r["family"] == "binomial"]
    ok = [r for r in rows if r["family"] == "multinomial"]
    assert failed and ok and len(failed) + len(ok) == 6
    assert all(r["status"] == "failed" and "Binomial family" in r["error"] for r in failed)
    assert all(r["status"] == "ok" for r in ok)
    assert model.bestModel.stages[-1].getFamily() == "multinomial"


def test_when_every_trial_fails_fit_says_so_with_the_first_cause(iris):
    pipeline, lr = iris_pipeline()
    grid = ParamGridBuilder().addGrid(lr.family, ["binomial"]).build()
    with pytest.raises(SearchError, match="no trial succeeded.*Binomial family") as caught:
        BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid,
                               evaluator=accuracy()).fit(iris)
    [trial] = caught.value.trials.collect()
    assert (trial["trialId"], trial["status"]) == (0, "failed")
    assert "Binomial family" in trial["error"]


@scope.define
def explode_on_purpose(x):
    raise ZeroDivisionError(f"proposal {x} exploded on purpose")


def test_a_proposer_exception_reaches_python_with_its_traceback(iris):
    pipeline, lr = iris_pipeline()
    space = {lr.regParam: scope.explode_on_purpose(hp.uniform("regParam", 0.0, 1.0))}
    cv = BayesianCrossValidator(estimator=pipeline, evaluator=accuracy(), searchSpace=space,
                                maxEvals=3)
    with pytest.raises(SearchError) as caught:
        cv.fit(iris)
    message = str(caught.value)
    assert "ZeroDivisionError" in message and "exploded on purpose" in message
    assert "Traceback" in message and "explode_on_purpose" in message
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def _bad(**kwargs):
    pipeline, lr = iris_pipeline()
    other = LogisticRegression()
    setups = {
        "estimator": pipeline, "evaluator": accuracy(),
        "estimatorParamMaps": ParamGridBuilder().addGrid(lr.regParam, [0.1]).build(),
    }
    setups.update({k: (v(lr, other) if callable(v) else v) for k, v in kwargs.items()})
    return BayesianCrossValidator(**{k: v for k, v in setups.items() if v is not None})


@pytest.mark.parametrize("kwargs, expected", [
    (dict(numFolds=1), r"numFolds = 1 is not allowed: numFolds must be >= 2"),
    (dict(parallelism=0), r"parallelism = 0 is not allowed: parallelism must be >= 1"),
    (dict(maxEvals=0), r"maxEvals = 0 is not allowed: maxEvals must be >= 1"),
    (dict(searchAlgorithm="annealing"), r"searchAlgorithm = annealing is not allowed: one of grid, random, tpe"),
    (dict(searchSpace={}), r"searchSpace = \{\} is not allowed: at least one Param"),
    (dict(searchSpace=lambda lr, other: {lr.regParam: [0.1, 1.0]}),
     r"searchSpace = .*regParam.* is not allowed: values must be Hyperopt expressions"),
])
def test_bad_values_fail_when_set(kwargs, expected):
    with pytest.raises(ValueError, match=expected):
        _bad(**kwargs)


@pytest.mark.parametrize("kwargs, expected", [
    (dict(evaluator=None), r"evaluator = unset is not allowed: an Evaluator must be set"),
    (dict(estimator=None), r"estimator = unset is not allowed: an Estimator must be set"),
    (dict(estimatorParamMaps=lambda lr, other: ParamGridBuilder().addGrid(other.regParam, [0.1]).build()),
     r"Param LogisticRegression_\w+\.regParam belongs to no stage of the estimator"),
    (dict(estimatorParamMaps=None, searchAlgorithm="tpe", maxEvals=3,
          searchSpace=lambda lr, other: {other.regParam: hp.uniform("r", 0, 1)}),
     r"belongs to no stage of the estimator"),
    (dict(estimatorParamMaps=None, searchSpace=lambda lr, other: {lr.regParam: hp.uniform("r", 0, 1)}),
     r"maxEvals = unset is not allowed"),
    (dict(estimatorParamMaps=None), r"estimatorParamMaps = unset is not allowed: grid search needs"),
])
def test_bad_setups_fail_in_fit_before_any_spark_job(spark, iris, kwargs, expected):
    sc = spark.sparkContext
    sc.setJobGroup("sparktpe-bad-input", "bad input must start no job")
    try:
        with pytest.raises(ValueError, match=expected):
            _bad(**kwargs).fit(iris)
        assert list(sc.statusTracker().getJobIdsForGroup("sparktpe-bad-input")) == []
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
