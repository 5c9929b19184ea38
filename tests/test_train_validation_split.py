"""BayesianTrainValidationSplit: Spark's TrainValidationSplit results, plus TPE."""

import pytest
from hyperopt import hp
from pyspark.ml import Pipeline
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import ParamGridBuilder
from pyspark.ml.wrapper import JavaWrapper

from sparktpe import BayesianTrainValidationSplit, BayesianTrainValidationSplitModel
from sparktpe.boundary import grid_to_java, java_stages

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def setup():
    # the normal equations: one Spark job per fit (a logistic regression costs one per iteration)
    lr = LinearRegression(labelCol="target", solver="normal")
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr])
    grid = (ParamGridBuilder().addGrid(lr.regParam, [0.001, 0.1, 1.0])
            .addGrid(lr.elasticNetParam, [0.0, 1.0]).build())
    evaluator = RegressionEvaluator(labelCol="target", metricName="r2")  # larger is better
    return pipeline, lr, grid, evaluator


def scala_train_validation_split(spark, pipeline, grid, evaluator, ratio, seed, data):
    """Spark's own Scala TrainValidationSplit, driven through py4j with the same objects."""
    java_pipeline = pipeline._to_java()
    java_grid = grid_to_java(spark.sparkContext, grid, java_stages(java_pipeline))
    tvs = JavaWrapper._new_java_obj("org.apache.spark.ml.tuning.TrainValidationSplit")
    tvs.setEstimator(java_pipeline).setEstimatorParamMaps(java_grid)
    tvs.setEvaluator(evaluator._to_java()).setTrainRatio(ratio).setSeed(seed)
    tvs.setParallelism(2)  # only runs the fits side by side: Spark's metrics do not depend on it
    return list(tvs.fit(data._jdf).validationMetrics())


@pytest.fixture(scope="module")
def scala_metrics(spark, iris):
    """Spark's validationMetrics for setup()'s grid (ratio 0.6, seed 21): one fit for both cases."""
    pipeline, _, grid, evaluator = setup()
    return scala_train_validation_split(spark, pipeline, grid, evaluator, 0.6, 21, iris)


@pytest.mark.parametrize("parallelism", [1, 2])
def test_grid_mode_equals_spark_train_validation_split(iris, scala_metrics, parallelism):
    pipeline, lr, grid, evaluator = setup()
    model = BayesianTrainValidationSplit(estimator=pipeline, estimatorParamMaps=grid,
                                         evaluator=evaluator, trainRatio=0.6, seed=21,
                                         parallelism=parallelism, collectSubModels=True).fit(iris)
    expected = scala_metrics
    assert isinstance(model, BayesianTrainValidationSplitModel)
    assert model.validationMetrics == pytest.approx(expected, abs=1e-9)
    assert len(set(expected)) > 1
    assert len(model.subModels) == len(grid)
    assert model.getTrainRatio() == 0.6
    assert [r["metric"] for r in model.trials.orderBy("trialId").collect()] == pytest.approx(expected, abs=1e-9)


def test_tpe_search_on_one_split(iris):
    pipeline, lr, _, evaluator = setup()
    model = BayesianTrainValidationSplit(
        estimator=pipeline, evaluator=evaluator, maxEvals=5, seed=3, parallelism=2,
        searchSpace={lr.regParam: hp.loguniform("regParam", -7, 1)}).fit(iris)
    rows = model.trials.orderBy("trialId").collect()
    assert len(model.validationMetrics) == 5 and [r["status"] for r in rows] == ["ok"] * 5
    assert all(len(r["foldMetrics"]) == 1 for r in rows)
    assert model.getSearchAlgorithm() == "tpe"
    best = max(range(5), key=lambda i: model.validationMetrics[i])
    assert model.bestModel.stages[-1].getRegParam() == pytest.approx(rows[best]["regParam"])


def test_train_ratio_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match=r"trainRatio = 1.5 is not allowed: trainRatio must be in \[0, 1\]"):
        BayesianTrainValidationSplit(trainRatio=1.5)
