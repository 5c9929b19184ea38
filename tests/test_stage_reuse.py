"""Stage reuse from Python: the ``reuseUntunedStages`` Param, and a Pipeline whose leading stages
no setting touches still gives PySpark ``CrossValidator``'s metrics (same ``foldCol`` folds)."""

from pyspark.ml import Pipeline
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

from sparktpe import BayesianCrossValidator, BayesianTrainValidationSplit


def test_the_param_defaults_to_true_and_is_passed_to_the_jvm_and_saved(spark, tmp_path):
    for tuner_class in (BayesianCrossValidator, BayesianTrainValidationSplit):
        assert tuner_class().getReuseUntunedStages() is True
        tuner = tuner_class(reuseUntunedStages=False, estimator=LinearRegression(),
                            evaluator=RegressionEvaluator())
        assert tuner.getReuseUntunedStages() is False
        assert tuner.setReuseUntunedStages(True).getReuseUntunedStages() is True
        tuner.setReuseUntunedStages(False)
        path = str(tmp_path / tuner_class.__name__)
        tuner.save(path)
        assert tuner_class.load(path).getReuseUntunedStages() is False
        jvm_class = getattr(spark.sparkContext._jvm.sparktpe, tuner_class.__name__)
        assert jvm_class.load(path).getReuseUntunedStages() is False


def test_a_pipeline_with_untuned_stages_gives_pyspark_cross_validators_metrics(jvm_frame):
    rows = [((i % 4) * 0.7 + ((i * 7) % 11) / 11 + ((i * 13) % 5) / 10, "abcd"[i % 4],
             ((i * 7) % 11) / 11, (i // 4) % 2) for i in range(64)]
    data = jvm_frame(rows, ["label", "cat", "x", "fold"])
    lr = LinearRegression(solver="normal")
    pipeline = Pipeline(stages=[
        StringIndexer(inputCol="cat", outputCol="catIndex"),
        OneHotEncoder(inputCols=["catIndex"], outputCols=["catVector"]),
        VectorAssembler(inputCols=["catVector", "x"], outputCol="features"), lr])
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.1, 1.0]).build()
    evaluator = RegressionEvaluator(metricName="r2")
    expected = CrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=evaluator,
                              numFolds=2, foldCol="fold").fit(data)
    got = BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=evaluator,
                                 numFolds=2, foldCol="fold").fit(data)
    assert got.getReuseUntunedStages() is True
    assert abs(got.avgMetrics[0] - got.avgMetrics[1]) > 1e-6  # the grid matters
    for ours, theirs in zip(got.avgMetrics, expected.avgMetrics, strict=True):
        assert abs(ours - theirs) < 1e-9
    assert [s.uid for s in got.bestModel.stages] == [s.uid for s in expected.bestModel.stages]
