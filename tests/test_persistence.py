"""Save and load in Python, across languages, and inside Pipelines: nothing is lost."""

import numpy as np
import hyperopt.pyll.stochastic as stochastic
import pytest
from hyperopt import hp
from hyperopt.pyll import scope
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.tuning import ParamGridBuilder
from pyspark.ml.wrapper import JavaWrapper

from sparktpe import (BayesianCrossValidator, BayesianCrossValidatorModel,
                      BayesianTrainValidationSplit, BayesianTrainValidationSplitModel)

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def pipeline():
    lr = LogisticRegression(labelCol="target", maxIter=5)  # what round-trips is not convergence
    return Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr]), lr


def evaluator():
    return MulticlassClassificationEvaluator(labelCol="target", metricName="accuracy")


def by_name(param_map):
    return {p.name: v for p, v in param_map.items()}


def rows(trials):
    """Trial rows with NaN as None, so that equal tables compare equal."""
    def fix(x):
        if isinstance(x, float) and x != x:
            return None
        return [fix(y) for y in x] if isinstance(x, list) else x
    return [tuple(fix(x) for x in r) for r in trials.orderBy("trialId").collect()]


def samples(space, seed=0):
    named = {p.name: e for p, e in space.items()}
    return [stochastic.sample(named, rng=np.random.default_rng(seed + i)) for i in range(5)]


def test_an_estimator_with_a_hyperopt_space_round_trips(iris, tmp_path):
    est, lr = pipeline()
    space = {lr.regParam: hp.loguniform("regParam", -6, 0),
             lr.maxIter: scope.int(hp.quniform("maxIter", 3, 8, 1)),  # every iteration is a job
             lr.family: hp.choice("family", ["auto", "multinomial"])}
    cv = BayesianCrossValidator(estimator=est, evaluator=evaluator(), searchSpace=space,
                                maxEvals=4, numFolds=2, seed=8, parallelism=2)
    cv.write().overwrite().save(str(tmp_path / "cv"))
    loaded = BayesianCrossValidator.load(str(tmp_path / "cv"))
    assert loaded.uid == cv.uid
    assert (loaded.getNumFolds(), loaded.getSeed(), loaded.getParallelism(), loaded.getMaxEvals()) == (2, 8, 2, 4)
    assert not loaded.isSet(loaded.searchAlgorithm)  # unset stays unset: "tpe" by default
    assert loaded.getSearchAlgorithm() == "tpe"
    assert {p.name for p in loaded.getSearchSpace()} == {"regParam", "maxIter", "family"}
    assert all(p.parent == lr.uid for p in loaded.getSearchSpace())
    assert samples(loaded.getSearchSpace()) == samples(space)
    # The loaded space proposes what the saved one does (2 trials of the 4 suffice for that).
    from_loaded, from_saved = loaded.copy().setMaxEvals(2).fit(iris), cv.copy().setMaxEvals(2).fit(iris)
    assert [by_name(m) for m in from_loaded.getEstimatorParamMaps()] == \
        [by_name(m) for m in from_saved.getEstimatorParamMaps()]
    assert from_loaded.avgMetrics == pytest.approx(from_saved.avgMetrics, abs=1e-12)


def test_a_model_round_trips_with_trials_and_sub_models(iris, tmp_path):
    est, lr = pipeline()
    # Two settings of two Params (a double and a string): one trial fails, one succeeds.
    grid = [{lr.regParam: 0.001, lr.family: "binomial"}, {lr.regParam: 0.5, lr.family: "auto"}]
    model = BayesianCrossValidator(estimator=est, estimatorParamMaps=grid, evaluator=evaluator(),
                                   numFolds=2, seed=1, collectSubModels=True).fit(iris)
    path = str(tmp_path / "model")
    model.write().overwrite().option("persistSubModels", "true").save(path)
    loaded = BayesianCrossValidatorModel.load(path)
    assert loaded.uid == model.uid
    assert np.array_equal(loaded.avgMetrics, model.avgMetrics, equal_nan=True)
    assert np.array_equal(loaded.stdMetrics, model.stdMetrics, equal_nan=True)
    assert [by_name(m) for m in loaded.getEstimatorParamMaps()] == [by_name(m) for m in grid]
    assert rows(loaded.trials) == rows(model.trials)
    assert [r.status for r in loaded.trials.orderBy("trialId").collect()] == ["failed", "ok"]
    assert loaded.stopReason == model.stopReason
    assert loaded.transform(iris).select("prediction").collect() == model.transform(iris).select("prediction").collect()
    assert len(loaded.subModels) == 2 and loaded.subModels[0][0] is None  # failed trial: no model
    assert loaded.subModels[1][1].stages[-1].coefficientMatrix == model.subModels[1][1].stages[-1].coefficientMatrix


def test_saved_in_python_loaded_in_scala_and_back(spark, iris, tmp_path):
    est, lr = pipeline()
    model = BayesianCrossValidator(estimator=est, evaluator=evaluator(), maxEvals=2, numFolds=2, seed=2,
                                   searchSpace={lr.regParam: hp.uniform("regParam", 0.0, 0.5)}).fit(iris)
    path = str(tmp_path / "from-python")
    model.write().save(path)
    jvm = spark.sparkContext._jvm
    tuner_path = str(tmp_path / "tuner-from-python")
    BayesianCrossValidator(estimator=est, evaluator=evaluator(), maxEvals=3, numFolds=4,
                           searchSpace={lr.regParam: hp.uniform("regParam", 0.0, 0.5)}).save(tuner_path)
    tuner_in_scala = jvm.sparktpe.BayesianCrossValidator.load(tuner_path)
    assert tuner_in_scala.getNumFolds() == 4 and tuner_in_scala.getMaxEvals() == 3
    assert tuner_in_scala.getEstimator().getStages()[1].uid() == lr.uid
    in_scala = jvm.sparktpe.BayesianCrossValidatorModel.load(path)
    assert list(in_scala.avgMetrics()) == model.avgMetrics
    assert in_scala.getSearchAlgorithm() == "tpe" and "regParam" in in_scala.getPythonSearchSpaceJson()

    # A search run and saved by the JVM alone (Scala random search over a Scala SearchSpace).
    java_lr = lr._to_java()
    space = jvm.sparktpe.SearchSpace.apply().uniform(java_lr.getParam("regParam"), 0.0, 0.3)
    java_cv = JavaWrapper._new_java_obj("sparktpe.BayesianCrossValidator", "scala-side")
    java_cv.setEstimator(est._to_java()).setEvaluator(evaluator()._to_java())
    java_cv.setSearchSpace(space).setSearchAlgorithm("random").setMaxEvals(2).setNumFolds(2)
    scala_model = java_cv.fit(iris._jdf)
    scala_path = str(tmp_path / "from-scala")
    scala_model.write().save(scala_path)
    in_python = BayesianCrossValidatorModel.load(scala_path)
    assert in_python.uid == "scala-side"
    assert in_python.avgMetrics == list(scala_model.avgMetrics())
    assert in_python.getSearchAlgorithm() == "random"
    assert [by_name(m)["regParam"] for m in in_python.getEstimatorParamMaps()] == \
        [r.regParam for r in in_python.trials.orderBy("trialId").collect()]


def test_tuners_inside_a_pipeline_save_and_load(iris, tmp_path):
    lr = LogisticRegression(labelCol="target", maxIter=5)  # every iteration is a Spark job
    tvs = BayesianTrainValidationSplit(estimator=lr, evaluator=evaluator(), trainRatio=0.7, seed=5,
                                       estimatorParamMaps=ParamGridBuilder().addGrid(lr.regParam, [0.01, 1.0]).build())
    outer = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), tvs])
    outer.write().save(str(tmp_path / "pipeline"))
    reloaded = Pipeline.load(str(tmp_path / "pipeline")).getStages()[-1]
    assert isinstance(reloaded, BayesianTrainValidationSplit)
    assert reloaded.uid == tvs.uid and reloaded.getTrainRatio() == 0.7
    fitted = outer.fit(iris)
    fitted.write().save(str(tmp_path / "fitted"))
    loaded = PipelineModel.load(str(tmp_path / "fitted"))
    stage = loaded.stages[-1]
    assert isinstance(stage, BayesianTrainValidationSplitModel)
    assert stage.validationMetrics == fitted.stages[-1].validationMetrics
    assert loaded.transform(iris).select("prediction").collect() == fitted.transform(iris).select("prediction").collect()


def test_a_space_that_cannot_be_stored_fails_at_save_naming_it(tmp_path):
    est, lr = pipeline()
    cv = BayesianCrossValidator(estimator=est, evaluator=evaluator(), maxEvals=2,
                                searchSpace={lr.regParam: scope.exp(hp.uniform("r", -3, 0))})
    with pytest.raises(ValueError, match=r"cannot save the search space of regParam: it uses 'exp'"):
        cv.write().save(str(tmp_path / "bad"))
