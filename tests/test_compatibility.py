"""Same results as Spark's own tuners: Scala's CrossValidator for any evaluator, and PySpark's
CrossValidator when folds come from a foldCol."""

import pytest
from pyspark.ml import Pipeline
from pyspark.ml.clustering import KMeans
from pyspark.ml.evaluation import ClusteringEvaluator, MulticlassClassificationEvaluator, RegressionEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder
from pyspark.ml.wrapper import JavaWrapper
from pyspark.sql import functions as F

from sparktpe import BayesianCrossValidator
from sparktpe.boundary import grid_to_java, java_stages

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def scala_cross_validator(spark, estimator, grid, evaluator, data, seed, num_folds):
    java_estimator = estimator._to_java()
    java_grid = grid_to_java(spark.sparkContext, grid, java_stages(java_estimator))
    cv = JavaWrapper._new_java_obj("org.apache.spark.ml.tuning.CrossValidator")
    cv.setEstimator(java_estimator).setEstimatorParamMaps(java_grid).setEvaluator(evaluator._to_java())
    # parallelism only runs the fits side by side: Spark's metrics do not depend on it
    cv.setNumFolds(num_folds).setSeed(seed).setParallelism(2)
    return list(cv.fit(data._jdf).avgMetrics())


def regression_case():
    lin = LinearRegression(featuresCol="features", labelCol="petal_width")
    assembler = VectorAssembler(inputCols=["sepal_length", "sepal_width", "petal_length"], outputCol="features")
    grid = ParamGridBuilder().addGrid(lin.regParam, [0.0, 0.3, 3.0]).build()
    return Pipeline(stages=[assembler, lin]), grid, RegressionEvaluator(labelCol="petal_width")


def clustering_case():
    # random initial centers: a quarter fewer Spark jobs per fit than k-means||; every
    # iteration is a Spark job, and 4 (of the default 20) still give each k its own silhouette
    kmeans = KMeans(featuresCol="features", seed=1, initMode="random", maxIter=4)
    grid = ParamGridBuilder().addGrid(kmeans.k, [2, 3, 5]).build()
    return (Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), kmeans]), grid,
            ClusteringEvaluator(featuresCol="features"))


def multiclass_case():
    lr = LogisticRegression(labelCol="target", maxIter=3)  # every iteration is a Spark job
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.001, 0.3, 3.0]).build()
    return (Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr]), grid,
            MulticlassClassificationEvaluator(labelCol="target", metricName="f1"))


@pytest.mark.parametrize("case", [regression_case, clustering_case, multiclass_case])
def test_grid_mode_equals_scala_cross_validator_for_any_evaluator(spark, iris, case):
    estimator, grid, evaluator = case()
    # 2 folds (both tuners split with Spark's kFold and the seed): a third fewer fits than 3
    model = BayesianCrossValidator(estimator=estimator, estimatorParamMaps=grid, evaluator=evaluator,
                                   numFolds=2, seed=13, parallelism=2).fit(iris)
    expected = scala_cross_validator(spark, estimator, grid, evaluator, iris, 13, 2)
    assert model.avgMetrics == pytest.approx(expected, abs=1e-9)
    assert len(set(round(m, 6) for m in expected)) == len(grid)
    # the best trial follows the evaluator's direction (rmse: smaller is better)
    pick = max if evaluator.isLargerBetter() else min
    best = model.avgMetrics.index(pick(model.avgMetrics))
    assert model.bestModel.stages[-1].extractParamMap().items() >= {
        (model.bestModel.stages[-1].getParam(p.name), v) for p, v in grid[best].items()}


def test_with_a_fold_column_all_three_tuners_agree(spark, iris):
    data = iris.withColumn("fold", (F.abs(F.hash("sepal_length", "sepal_width", "petal_length")) % 2).cast("int"))
    # a linear regression by the normal equations: one Spark job per fit, and the fold column
    # is what is checked here, not the estimator
    estimator, grid, evaluator = regression_case()
    # PySpark's parallelism only runs its fits side by side: its metrics do not depend on it
    ours = BayesianCrossValidator(estimator=estimator, estimatorParamMaps=grid, evaluator=evaluator,
                                  numFolds=2, foldCol="fold", parallelism=2).fit(data)
    pyspark_cv = CrossValidator(estimator=estimator, estimatorParamMaps=grid, evaluator=evaluator,
                                numFolds=2, foldCol="fold", parallelism=2).fit(data)
    assert ours.avgMetrics == pytest.approx(pyspark_cv.avgMetrics, abs=1e-9)
    # without foldCol PySpark's CrossValidator splits folds in Python, so its metrics differ
    # (one setting shows it)
    plain = CrossValidator(estimator=estimator, estimatorParamMaps=grid[:1], evaluator=evaluator,
                           numFolds=2, seed=3).fit(iris)
    ours_plain = BayesianCrossValidator(estimator=estimator, estimatorParamMaps=grid[:1], evaluator=evaluator,
                                        numFolds=2, seed=3).fit(iris)
    assert ours_plain.avgMetrics != pytest.approx(plain.avgMetrics, abs=1e-9)
