"""TPE and random search from Python, over a search space and over a grid."""

import statistics

import pytest
from hyperopt import hp
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression, NaiveBayes
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import Binarizer, VectorAssembler
from pyspark.ml.tuning import ParamGridBuilder

from sparktpe import BayesianCrossValidator


def threshold_pipeline(classifier=None):
    """Binarize worst_radius at a threshold, then classify: accuracy peaks sharply near 17
    (0.92) over [8, 36] and is ~0.63 on most of the range, so the optimum is narrow."""
    binarizer = Binarizer(inputCol="worst_radius", outputCol="big")
    assembler = VectorAssembler(inputCols=["big"], outputCol="features")
    lr = classifier or LogisticRegression(labelCol="target", maxIter=10)
    return Pipeline(stages=[binarizer, assembler, lr]), binarizer, lr


def accuracy():
    return MulticlassClassificationEvaluator(labelCol="target", metricName="accuracy")


def test_tpe_beats_random_search_on_a_narrow_optimum(cancer):
    # Bernoulli naive Bayes fits in one pass, and 2 folds score a threshold well enough, so
    # 3 seeds x 2 algorithms x 20 trials stay cheap. (With 2 folds, all 84 triples of seeds
    # 1-9 pass the three checks below, TPE having 5 to 12 more trials above 0.85 than random.)
    pipeline, binarizer, _ = threshold_pipeline(NaiveBayes(labelCol="target", modelType="bernoulli"))
    space = {binarizer.threshold: hp.uniform("threshold", 8.0, 36.0)}
    best = {"random": [], "tpe": []}
    good = {"random": 0, "tpe": 0}
    for seed in (1, 2, 3):
        for algorithm in ("random", "tpe"):
            model = BayesianCrossValidator(
                estimator=pipeline, evaluator=accuracy(), searchSpace=space, numFolds=2,
                searchAlgorithm=algorithm, maxEvals=20, parallelism=2, seed=seed).fit(cancer)
            assert len(model.avgMetrics) == 20
            best[algorithm].append(max(model.avgMetrics))
            good[algorithm] += sum(m > 0.85 for m in model.avgMetrics)
    # One seed can go either way; the median over seeds is the claim.
    assert statistics.median(best["tpe"]) >= statistics.median(best["random"])
    assert statistics.median(best["tpe"]) > 0.9
    # TPE adapts: it spends more of the same budget near the optimum than random sampling does.
    assert good["tpe"] > good["random"]


def test_same_seed_and_parallelism_one_repeat_the_search(cancer):
    # Naive Bayes (one pass), 2 folds and 4 trials (2 random, then TPE's): what repeats is the
    # proposals, whatever the model.
    pipeline, binarizer, _ = threshold_pipeline(NaiveBayes(labelCol="target", modelType="bernoulli"))
    space = {binarizer.threshold: hp.uniform("threshold", 8.0, 36.0)}
    runs = [BayesianCrossValidator(estimator=pipeline, evaluator=accuracy(), searchSpace=space,
                                   maxEvals=4, numFolds=2, seed=5).fit(cancer) for _ in range(2)]
    thresholds = [[r["threshold"] for r in m.trials.orderBy("trialId").collect()] for m in runs]
    assert thresholds[0] == thresholds[1]
    assert runs[0].avgMetrics == pytest.approx(runs[1].avgMetrics, abs=1e-12)
    assert len(set(thresholds[0])) == 4


def test_tpe_over_an_existing_grid(iris):
    assembler = VectorAssembler(inputCols=["sepal_length", "sepal_width", "petal_length", "petal_width"],
                                outputCol="features")
    lr = LogisticRegression(labelCol="target")
    # every iteration is a Spark job: few of them
    grid = (ParamGridBuilder().addGrid(lr.regParam, [0.001, 0.01, 0.1, 1.0])
            .addGrid(lr.maxIter, [2, 4]).build())
    cv = BayesianCrossValidator(estimator=Pipeline(stages=[assembler, lr]), estimatorParamMaps=grid,
                                evaluator=accuracy(), searchAlgorithm="tpe", maxEvals=5,
                                numFolds=2, parallelism=2, seed=3)
    model = cv.fit(iris)
    assert len(model.avgMetrics) == 5
    assert model.getSearchAlgorithm() == "tpe"
    grid_points = [{p.name: v for p, v in pm.items()} for pm in grid]
    evaluated = [{p.name: v for p, v in pm.items()} for pm in model.getEstimatorParamMaps()]
    assert len(evaluated) == 5
    assert all(point in grid_points for point in evaluated)
    best = evaluated[max(range(5), key=lambda i: model.avgMetrics[i])]
    fitted_lr = model.bestModel.stages[-1]
    assert fitted_lr.getRegParam() == best["regParam"]
    assert fitted_lr.getMaxIter() == best["maxIter"]


def test_search_space_over_two_pipeline_stages(cancer):
    pipeline, binarizer, lr = threshold_pipeline()
    space = {binarizer.threshold: hp.uniform("threshold", 12.0, 22.0),
             lr.regParam: hp.loguniform("regParam", -9, 0),
             lr.maxIter: hp.quniform("maxIter", 2, 6, 1)}  # every iteration is a Spark job
    model = BayesianCrossValidator(estimator=pipeline, evaluator=accuracy(), searchSpace=space,
                                   maxEvals=6, numFolds=2, parallelism=2, seed=2).fit(cancer)
    rows = model.trials.orderBy("trialId").collect()
    assert [r["status"] for r in rows] == ["ok"] * 6
    assert all(12.0 <= r["threshold"] <= 22.0 for r in rows)
    assert all(r["maxIter"] == int(r["maxIter"]) and 2 <= r["maxIter"] <= 6 for r in rows)
    assert [r["metric"] for r in rows] == pytest.approx(model.avgMetrics)
    best = rows[max(range(6), key=lambda i: model.avgMetrics[i])]
    stages = model.bestModel.stages
    assert stages[0].getThreshold() == best["threshold"]
    assert stages[-1].getRegParam() == best["regParam"]
    assert stages[-1].getMaxIter() == best["maxIter"]
    assert model.transform(cancer).count() == cancer.count()


def test_tpe_over_a_grid_never_repeats_a_setting_and_stops_when_it_has_none_left(iris):
    assembler = VectorAssembler(inputCols=["petal_length", "petal_width"], outputCol="features")
    lr = LogisticRegression(labelCol="target", maxIter=3)  # every iteration is a Spark job
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.001, 0.1, 1.0]).addGrid(lr.fitIntercept, [True, False]).build()
    model = BayesianCrossValidator(estimator=Pipeline(stages=[assembler, lr]), estimatorParamMaps=grid,
                                   evaluator=accuracy(), searchAlgorithm="tpe", maxEvals=10,
                                   numFolds=2, parallelism=2, seed=6).fit(iris)
    evaluated = [tuple(sorted((p.name, v) for p, v in pm.items())) for pm in model.getEstimatorParamMaps()]
    assert len(evaluated) == len(set(evaluated)) == 6  # the whole grid, each point once
    assert model.stopReason == "the proposer had no more settings"
