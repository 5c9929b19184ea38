"""Conditional search spaces: a choice between sub-spaces, including a choice between models."""

import pytest
from hyperopt import hp
from hyperopt.pyll import scope
from pyspark.ml import Pipeline
from pyspark.ml.classification import (DecisionTreeClassificationModel, DecisionTreeClassifier,
                                       LogisticRegression, LogisticRegressionModel)
from pyspark.ml.evaluation import MulticlassClassificationEvaluator, RegressionEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import LinearRegression

from sparktpe import BayesianCrossValidator, subspace

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def models():
    assembler = VectorAssembler(inputCols=FEATURES, outputCol="features")
    lr = LogisticRegression(labelCol="target", maxIter=5)
    tree = DecisionTreeClassifier(labelCol="target", seed=1)
    return assembler, lr, tree, Pipeline(stages=[assembler, lr])


def test_a_choice_between_models_sets_only_the_chosen_models_params(iris):
    assembler, lr, tree, pipeline = models()
    space = {"model": hp.choice("model", [
        subspace({pipeline.stages: [assembler, lr], lr.regParam: hp.loguniform("lr_reg", -6, 0)}),
        subspace({pipeline.stages: [assembler, tree],
                  tree.maxDepth: scope.int(hp.quniform("tree_depth", 1, 5, 1))}),
    ])}
    cv = BayesianCrossValidator(estimator=pipeline, searchSpace=space, maxEvals=8, numFolds=2,
                                seed=3, parallelism=2,
                                evaluator=MulticlassClassificationEvaluator(labelCol="target"))
    model = cv.fit(iris)
    rows = model.trials.orderBy("trialId").collect()
    assert [r.status for r in rows] == ["ok"] * 8
    kinds = []
    for row, settings in zip(rows, model.getEstimatorParamMaps()):
        last = settings[pipeline.stages][-1]
        kinds.append(last.uid)
        if last is lr:  # the tree's maxDepth is inactive: not set, and null in the table
            assert lr.regParam in settings and tree.maxDepth not in settings
            assert row.regParam == settings[lr.regParam] and row.maxDepth is None
        else:
            assert last is tree
            assert tree.maxDepth in settings and lr.regParam not in settings
            assert row.maxDepth == settings[tree.maxDepth] and row.regParam is None
        assert row.stages == f"[{assembler.uid}, {last.uid}]"
    assert set(kinds) == {lr.uid, tree.uid}, "the seeded search tries both models"
    best = max(range(8), key=lambda i: model.avgMetrics[i])
    chosen = model.getEstimatorParamMaps()[best][pipeline.stages][-1]
    expected = LogisticRegressionModel if chosen is lr else DecisionTreeClassificationModel
    assert isinstance(model.bestModel.stages[-1], expected)
    # the user's Pipeline is left as it was
    assert pipeline.getStages() == [assembler, lr]
    # stages have no JSON form yet: saving says so, naming the choice
    with pytest.raises(ValueError, match="cannot save the search space of model: the value"):
        model.write().overwrite().save("/tmp/sparktpe-never-written")


def test_a_choice_between_sub_spaces_of_one_stage_is_saved_and_loaded(iris, tmp_path):
    # Least squares by the normal equations has both Params, in one Spark job per fit
    # (LogisticRegression with an L1 part: about 9).
    lr = LinearRegression(labelCol="target", solver="normal")
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr])
    space = {"penalty": hp.choice("penalty", [
        subspace({lr.regParam: 0.0}),
        subspace({lr.regParam: hp.loguniform("reg", -6, 0),
                  lr.elasticNetParam: hp.uniform("mix", 0, 1)}),
    ])}
    cv = BayesianCrossValidator(estimator=pipeline, searchSpace=space, maxEvals=5, numFolds=2,
                                seed=5, evaluator=RegressionEvaluator(labelCol="target"))
    model = cv.fit(iris)
    for settings in model.getEstimatorParamMaps():
        # elasticNetParam is set exactly when the penalised alternative was chosen
        assert (lr.elasticNetParam in settings) == (settings[lr.regParam] != 0.0)
    cv.write().overwrite().save(str(tmp_path / "cv"))
    loaded = BayesianCrossValidator.load(str(tmp_path / "cv"))
    assert list(loaded.getSearchSpace()) == ["penalty"]
    assert str(loaded.getSearchSpace()["penalty"]) == str(space["penalty"])


def test_a_sub_space_key_of_no_stage_is_refused_before_any_job():
    assembler, lr, tree, pipeline = models()
    stray = LogisticRegression()
    cv = BayesianCrossValidator(
        estimator=pipeline, maxEvals=3, evaluator=MulticlassClassificationEvaluator(),
        searchSpace={"model": hp.choice("model", [subspace({stray.regParam: 0.1})])})
    with pytest.raises(ValueError, match=f"searchSpace = sub-space key '{stray.uid}.regParam' is "
                                         "not allowed"):
        cv._check_for_fit()
    with pytest.raises(ValueError, match="is not a Spark Param"):
        subspace({"regParam": 0.1})
