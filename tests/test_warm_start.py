"""Warm start and resume: a search continued from a model's trials (initialTrials)."""

import pytest
from hyperopt import hp
from pyspark.ml import Pipeline
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import ParamGridBuilder

from sparktpe import BayesianCrossValidator, BayesianCrossValidatorModel

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def tuner(max_evals, **kwargs):
    # What continues is the proposals, not a model: least squares by the normal equations is
    # one Spark job per fit and rmse one per evaluation (LogisticRegression: one per iteration).
    lr = LinearRegression(labelCol="target", solver="normal")
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr])
    return BayesianCrossValidator(
        estimator=pipeline, maxEvals=max_evals, numFolds=2, seed=11,
        evaluator=RegressionEvaluator(labelCol="target", metricName="rmse"),
        searchSpace={lr.regParam: hp.loguniform("reg", -7, 1)}, **kwargs), lr


def regs(model, lr):
    return [settings[lr.regParam] for settings in model.getEstimatorParamMaps()]


@pytest.fixture(scope="module")
def first_search(iris):
    cv, lr = tuner(3)
    return cv, lr, cv.fit(iris)


def test_a_continued_tpe_search_equals_one_uninterrupted_search(iris, tmp_path, first_search):
    # parallelism 1: the same seed gives the same history, so 3 trials + 3 more continued from
    # them must propose exactly what 6 trials in one go propose (TPE models from trial 3 on).
    whole_cv, lr = tuner(6)
    whole = whole_cv.fit(iris)
    first_cv, lr1, first = first_search
    assert regs(first, lr1) == regs(whole, lr)[:3]
    continued = first_cv.copy().setInitialTrials(first).fit(iris)
    assert regs(continued, lr1) == regs(whole, lr)
    assert continued.avgMetrics == pytest.approx(whole.avgMetrics, abs=1e-12)
    assert [r.trialId for r in continued.trials.orderBy("trialId").collect()] == list(range(6))

    # A model loaded from disk resumes the same way.
    first.write().overwrite().save(str(tmp_path / "first"))
    loaded = BayesianCrossValidatorModel.load(str(tmp_path / "first"))
    resumed = first_cv.copy().setInitialTrials(loaded).setMaxEvals(1).fit(iris)
    assert regs(resumed, lr1) == regs(whole, lr)[:4]


def test_tpe_over_a_grid_continues_without_repeating_a_setting(iris):
    cv, lr = tuner(3)
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.0, 0.001, 0.01, 0.1, 1.0]).build()
    cv.clear(cv.searchSpace)
    cv.setEstimatorParamMaps(grid).setSearchAlgorithm("tpe")
    first = cv.fit(iris)
    rest = cv.copy().setInitialTrials(first).setMaxEvals(5).fit(iris)
    # 3 earlier trials, then only the 2 settings never tried: the grid is then exhausted
    assert sorted(regs(rest, lr)) == [0.0, 0.001, 0.01, 0.1, 1.0]
    assert rest.stopReason == "the proposer had no more settings"


def test_initial_trials_from_another_estimator_are_refused(iris, first_search):
    other, _ = tuner(2)
    with pytest.raises(Exception, match="initialTrials = .* is not allowed: trials of a search "
                                        "over this estimator's stages"):
        other.setInitialTrials(first_search[2]).fit(iris)
