"""What a user migrating from PySpark's CrossValidator relies on, checked against PySpark's own
tuner on the same input: estimator-valued settings, nested meta-estimators, the user's own
objects on the model, sub-models on copy and save, our saved format, Python-only stages, and
the README's first example."""

import json
import re
from pathlib import Path

import pytest
from pyspark.ml import Pipeline, Transformer
from pyspark.ml.classification import DecisionTreeClassifier, LogisticRegression, NaiveBayes, OneVsRest
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.param.shared import HasInputCol, HasOutputCol
from pyspark.ml.tuning import CrossValidator, CrossValidatorModel, ParamGridBuilder
from pyspark.sql import functions as F

from sparktpe import BayesianCrossValidator, BayesianCrossValidatorModel

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def folded(iris):
    """Iris with a 2-fold column, so PySpark's tuner and ours use the same folds."""
    return iris.withColumn(
        "fold", (F.abs(F.hash("sepal_length", "sepal_width", "petal_length")) % 2).cast("int"))


def f1():
    return MulticlassClassificationEvaluator(labelCol="target", metricName="f1")


def both(estimator, grid, evaluator, data, **ours):
    """(our model, PySpark's CrossValidatorModel) for the same grid and fold column. PySpark's
    parallelism only runs its fits side by side: its metrics do not depend on it."""
    mine = BayesianCrossValidator(estimator=estimator, estimatorParamMaps=grid, evaluator=evaluator,
                                  numFolds=2, foldCol="fold", **ours).fit(data)
    spark_cv = CrossValidator(estimator=estimator, estimatorParamMaps=grid, evaluator=evaluator,
                              numFolds=2, foldCol="fold", parallelism=2).fit(data)
    return mine, spark_cv


def test_pipeline_stages_alternatives_in_a_grid_fit_as_in_pyspark(folded):
    assembler = VectorAssembler(inputCols=FEATURES, outputCol="features")
    # naive Bayes fits in one Spark job (a logistic regression costs one per iteration)
    nb = NaiveBayes(labelCol="target")
    tree = DecisionTreeClassifier(labelCol="target", maxDepth=1)
    pipeline = Pipeline(stages=[assembler, nb])
    grid = ParamGridBuilder().addGrid(pipeline.stages, [[assembler, nb], [assembler, tree]]).build()
    mine, spark_cv = both(pipeline, grid, f1(), folded, parallelism=2)
    assert mine.avgMetrics == pytest.approx(spark_cv.avgMetrics, abs=1e-9)
    assert abs(mine.avgMetrics[0] - mine.avgMetrics[1]) > 0.05  # a depth-1 tree is much worse
    # the settings hold the user's own stage objects, as PySpark's model does
    assert [s for s in mine.getEstimatorParamMaps()[1][pipeline.stages]] == [assembler, tree]
    assert mine.getEstimatorParamMaps()[1][pipeline.stages][1] is tree
    assert type(mine.bestModel.stages[-1]).__name__ == "NaiveBayesModel"


def test_one_vs_rest_classifier_alternatives_fit_as_in_pyspark(folded):
    # OneVsRest fits its classifier once per class: naive Bayes does it in one Spark job, where
    # a logistic regression costs one per iteration
    nb = NaiveBayes()
    tree = DecisionTreeClassifier(maxDepth=1)
    ovr = OneVsRest(classifier=nb, labelCol="target")
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), ovr])
    grid = ParamGridBuilder().addGrid(ovr.classifier, [nb, tree]).build()
    mine, spark_cv = both(pipeline, grid, f1(), folded)
    # Spark (Scala and PySpark) fits these through OneVsRest.copy(extra), which re-copies the
    # original classifier over the grid's one; we fit exactly as Spark does.
    assert mine.avgMetrics == pytest.approx(spark_cv.avgMetrics, abs=1e-9)
    assert mine.getEstimatorParamMaps()[1][ovr.classifier] is tree
    assert mine.getEstimatorParamMaps()[0][ovr.classifier] is nb


def test_a_tuner_and_model_with_stage_settings_save_and_load(folded, tmp_path):
    # Needs the JVM persistence of the merge (stage values written as stage folders).
    assembler = VectorAssembler(inputCols=FEATURES, outputCol="features")
    nb = NaiveBayes(labelCol="target")  # one Spark job per fit
    tree = DecisionTreeClassifier(labelCol="target", maxDepth=1)
    pipeline = Pipeline(stages=[assembler, nb])
    grid = ParamGridBuilder().addGrid(pipeline.stages, [[assembler, nb], [assembler, tree]]).build()
    cv = BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=f1(),
                                numFolds=2, foldCol="fold")
    cv.save(str(tmp_path / "cv"))
    loaded_cv = BayesianCrossValidator.load(str(tmp_path / "cv"))
    stages = [m[loaded_cv.getEstimator().getParam("stages")] for m in loaded_cv.getEstimatorParamMaps()]
    assert [[(type(s).__name__, s.uid) for s in alt] for alt in stages] == \
        [[("VectorAssembler", assembler.uid), ("NaiveBayes", nb.uid)],
         [("VectorAssembler", assembler.uid), ("DecisionTreeClassifier", tree.uid)]]
    assert stages[1][1].getMaxDepth() == 1
    model = loaded_cv.fit(folded)
    model.save(str(tmp_path / "model"))
    loaded = BayesianCrossValidatorModel.load(str(tmp_path / "model"))
    assert loaded.avgMetrics == pytest.approx(model.avgMetrics, abs=1e-12)
    settings = [m[loaded.getEstimator().getParam("stages")] for m in loaded.getEstimatorParamMaps()]
    assert [alt[1].uid for alt in settings] == [nb.uid, tree.uid]


def test_params_of_a_stage_nested_in_one_vs_rest_are_tuned_as_in_pyspark(folded):
    # OneVsRest fits the classifier once per class: few iterations
    ovr = OneVsRest(classifier=LogisticRegression(maxIter=5), labelCol="target")
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), ovr])
    reg = ovr.getClassifier().regParam
    grid = ParamGridBuilder().addGrid(reg, [0.001, 3.0]).build()
    mine, spark_cv = both(pipeline, grid, f1(), folded, parallelism=2)
    assert mine.avgMetrics == pytest.approx(spark_cv.avgMetrics, abs=1e-9)
    assert mine.avgMetrics[0] - mine.avgMetrics[1] > 0.05  # the regParam really changed
    assert [m[reg] for m in mine.getEstimatorParamMaps()] == [0.001, 3.0]
    assert mine.bestModel.stages[-1].models[0].getRegParam() == 0.001


def test_the_model_returns_the_users_own_estimator_and_evaluator(folded):
    nb = NaiveBayes(labelCol="target")  # one Spark job per fit
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), nb])
    evaluator = f1()
    grid = ParamGridBuilder().addGrid(nb.smoothing, [0.5]).build()
    mine, spark_cv = both(pipeline, grid, evaluator, folded)
    assert spark_cv.getEvaluator() is evaluator and spark_cv.getEstimator() is pipeline  # PySpark
    assert mine.getEvaluator() is evaluator
    assert mine.getEstimator() is pipeline


def test_copy_copies_sub_models_and_save_keeps_them(folded, tmp_path):
    # Needs the JVM writer of the merge (persistSubModels defaults to true with sub-models).
    nb = NaiveBayes(labelCol="target")  # one Spark job per fit
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), nb])
    grid = ParamGridBuilder().addGrid(nb.smoothing, [0.01, 1.0]).build()
    mine = BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=f1(),
                                  numFolds=2, foldCol="fold", collectSubModels=True).fit(folded)
    spark_cv = CrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=f1(),
                              numFolds=2, foldCol="fold", collectSubModels=True).fit(folded)
    for model in (spark_cv, mine):  # PySpark 4's CrossValidatorModel.copy first, then ours
        copied = model.copy()
        assert len(copied.subModels) == 2 and all(len(fold) == 2 for fold in copied.subModels)
        for fold, copied_fold in zip(model.subModels, copied.subModels):
            for sub, copied_sub in zip(fold, copied_fold):
                assert copied_sub is not sub
                assert copied_sub.stages[-1].getSmoothing() == sub.stages[-1].getSmoothing()
    mine.save(str(tmp_path / "model"))
    loaded = BayesianCrossValidatorModel.load(str(tmp_path / "model"))
    assert loaded.subModels is not None
    assert [[m.stages[-1].getSmoothing() for m in fold] for fold in loaded.subModels] == \
        [[0.01, 1.0], [0.01, 1.0]]


def test_train_validation_split_model_copy_copies_sub_models_as_pyspark(iris):
    from pyspark.ml.tuning import TrainValidationSplit
    from sparktpe import BayesianTrainValidationSplit
    nb = NaiveBayes(labelCol="target")  # one Spark job per fit
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), nb])
    grid = ParamGridBuilder().addGrid(nb.smoothing, [0.01, 1.0]).build()
    setup = dict(estimator=pipeline, estimatorParamMaps=grid, evaluator=f1(), collectSubModels=True)
    for model in (TrainValidationSplit(**setup).fit(iris), BayesianTrainValidationSplit(**setup).fit(iris)):
        copied = model.copy()
        assert len(copied.subModels) == 2
        for sub, copied_sub in zip(model.subModels, copied.subModels):
            assert copied_sub is not sub
            assert copied_sub.stages[-1].getSmoothing() == sub.stages[-1].getSmoothing()


def test_spark_cross_validator_model_load_refuses_our_saved_model(spark, folded, tmp_path):
    nb = NaiveBayes(labelCol="target")  # one Spark job per fit
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), nb])
    grid = ParamGridBuilder().addGrid(nb.smoothing, [0.5]).build()
    path = str(tmp_path / "ours")
    BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=f1(),
                           numFolds=2, foldCol="fold").fit(folded).save(path)
    # Scala's CrossValidatorModel.load checks the saved class name and names ours
    scala_loader = spark.sparkContext._jvm.org.apache.spark.ml.tuning.CrossValidatorModel
    with pytest.raises(Exception, match=r"found class name sparktpe\.BayesianCrossValidatorModel"):
        scala_loader.load(path)
    # PySpark's Python reader checks no class name: it reads Spark's estimatorParamMaps slot,
    # where our save leaves it a sign saying which class loads the folder
    how = r"load it with sparktpe\.BayesianCrossValidatorModel\.load\(path\)"
    with pytest.raises(KeyError, match=how):
        CrossValidatorModel.load(path)
    with pytest.raises(KeyError, match=how):  # the tuner class reads the same slot first
        CrossValidator.load(path)
    loaded = BayesianCrossValidatorModel.load(path)  # ours loads it, grid and all
    assert loaded.avgMetrics and [m[nb.smoothing] for m in loaded.getEstimatorParamMaps()] == [0.5]
    # A folder saved before the sign, with the grid in paramMap as Spark keeps it, loads too
    meta_file = next(p for p in Path(path, "metadata").iterdir() if p.name.startswith("part-"))
    meta = json.loads(meta_file.read_text())
    meta["paramMap"]["estimatorParamMaps"] = meta.pop("estimatorParamMaps")
    meta_file.write_text(json.dumps(meta))
    for crc in Path(path, "metadata").glob(".*.crc"):
        crc.unlink()
    older = BayesianCrossValidatorModel.load(path)
    assert [m[nb.smoothing] for m in older.getEstimatorParamMaps()] == [0.5]


class PlusOne(Transformer, HasInputCol, HasOutputCol):
    """A pure-Python stage: it has no JVM twin."""

    def __init__(self, inputCol, outputCol):
        super().__init__()
        self._set(inputCol=inputCol, outputCol=outputCol)

    def _transform(self, dataset):
        return dataset.withColumn(self.getOutputCol(), F.col(self.getInputCol()) + 1)


def test_a_python_only_stage_fails_before_any_job_naming_it(spark, iris):
    sc = spark.sparkContext
    plus_one = PlusOne("sepal_length", "shifted")
    lr = LogisticRegression(labelCol="target", maxIter=5)
    pipeline = Pipeline(stages=[plus_one, VectorAssembler(
        inputCols=["shifted", "petal_width"], outputCol="features"), lr])
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.01]).build()
    cv = BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=f1())
    fresh = iris.select("*")  # not cached: any job would show in the group
    sc.setJobGroup("sparktpe-python-only", "a Python-only stage must start no job")
    try:
        with pytest.raises(ValueError) as caught:
            cv.fit(fresh)
        assert list(sc.statusTracker().getJobIdsForGroup("sparktpe-python-only")) == []
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
    message = str(caught.value)
    assert f"stage {plus_one.uid} (test_migration.PlusOne)" in message
    assert "Python-only stage" in message and "fits every trial in the JVM" in message


def test_the_readmes_first_example_runs_as_pasted(spark):
    first = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert "import" in first and "createDataFrame" in first  # it brings its imports and data
    namespace = {}
    exec(compile(first, "README.md", "exec"), namespace)
    model = namespace["model"]
    assert len(model.avgMetrics) == namespace["cv"].getMaxEvals()
    assert model.avgMetrics[model.bestTrialId] == max(model.avgMetrics)


def test_nested_stages_are_found_on_both_sides_of_the_boundary(spark):
    from sparktpe import BayesianTrainValidationSplit
    from sparktpe.boundary import java_stages
    from sparktpe.stages import all_stages, owner_of
    lr = LogisticRegression()
    ovr = OneVsRest(classifier=lr)
    inner = BayesianTrainValidationSplit(estimator=Pipeline(stages=[ovr]), evaluator=f1(),
                                         estimatorParamMaps=ParamGridBuilder()
                                         .addGrid(lr.maxIter, [5]).build())
    outer = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), inner])
    found = all_stages(outer)
    # outermost first, each nested stage once, the evaluator (not a stage) left out
    assert [type(s).__name__ for s in found] == [
        "Pipeline", "VectorAssembler", "BayesianTrainValidationSplit", "Pipeline", "OneVsRest",
        "LogisticRegression"]
    assert owner_of(outer, lr.regParam) is lr
    assert set(java_stages(outer._to_java())) == {s.uid for s in found}
