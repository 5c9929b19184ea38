"""Bad search spaces fail before any Spark job, naming the Param and what to use instead."""

import pytest
from hyperopt import hp
from hyperopt.pyll import scope
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler

from sparktpe import BayesianCrossValidator, subspace

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def cv_for(make_space):
    lr = LogisticRegression(labelCol="target")
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr])
    return BayesianCrossValidator(
        estimator=pipeline, maxEvals=3, evaluator=MulticlassClassificationEvaluator(labelCol="target"),
        searchSpace=make_space(lr)), lr


CASES = [
    # a continuous expression for an integer Param
    (lambda lr: {lr.maxIter: hp.uniform("maxIter", 5, 30)},
     r"\{LogisticRegression_\w+\.maxIter: hp\.uniform\('maxIter', 5, 30\)\} is not allowed: "
     r"LogisticRegression_\w+\.maxIter is an integer Param, but this expression draws "
     r"non-integer values; use scope\.int\(hp\.quniform"),
    (lambda lr: {"model": hp.choice("model", [subspace({lr.maxIter: hp.loguniform("it", 1, 3)})])},
     r"maxIter is an integer Param"),
    # two expressions with one label
    (lambda lr: {lr.regParam: hp.uniform("x", 0, 1), lr.elasticNetParam: hp.uniform("x", 0, 1)},
     r"label 'x' is not allowed: each Hyperopt expression needs its own label, but "
     r"LogisticRegression_\w+\.elasticNetParam and LogisticRegression_\w+\.regParam both use 'x'"),
    # a range the JVM Param's validator refuses, and an empty range
    (lambda lr: {lr.regParam: hp.uniform("r", -1, 1)},
     r"hp\.uniform\('r', -1, 1\)\} is not allowed: it can draw -1\.0, which "
     r"LogisticRegression_\w+\.regParam does not allow \(regularization parameter \(>= 0\)"),
    (lambda lr: {lr.elasticNetParam: hp.uniform("e", 0.5, 1.5)},
     r"it can draw 1\.5, which LogisticRegression_\w+\.elasticNetParam does not allow"),
    (lambda lr: {lr.family: hp.choice("f", ["auto", "poisson"])},
     r"it can draw 'poisson', which LogisticRegression_\w+\.family does not allow"),
    (lambda lr: {lr.regParam: hp.uniform("r", 1, 0)},
     r"hp\.uniform\('r', 1, 0\) has an empty range \(1 > 0\)"),
    (lambda lr: {lr.maxIter: hp.randint("m", 5, 5)}, r"has an empty range \(5 >= 5\)"),
    # a key that is not a Param
    (lambda lr: {"regParam": hp.uniform("r", 0, 1)},
     r"searchSpace = key 'regParam' is not allowed: a key that is not a Spark Param must label "
     r"an hp\.choice between sparktpe\.subspace\(\.\.\.\) dicts; .*use the Param object itself"),
]


@pytest.mark.parametrize("make_space, expected", CASES)
def test_a_bad_space_fails_before_any_job_naming_the_param(spark, iris, make_space, expected):
    sc = spark.sparkContext
    fresh = iris.select("*")  # uncached: a job would show in the group
    sc.setJobGroup("sparktpe-bad-space", "a bad space must start no job")
    try:
        with pytest.raises(ValueError, match=expected):
            cv_for(make_space)[0].fit(fresh)
        assert list(sc.statusTracker().getJobIdsForGroup("sparktpe-bad-space")) == []
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)


def test_integer_draws_and_valid_ranges_pass_the_checks(iris):
    # few LogisticRegression iterations: each is a Spark job
    cv, lr = cv_for(lambda lr: {lr.maxIter: scope.int(hp.quniform("maxIter", 1, 3, 1)),
                                lr.regParam: hp.loguniform("r", -5, 0),
                                lr.elasticNetParam: hp.uniform("e", 0, 1)})
    model = cv.setNumFolds(2).setMaxEvals(2).fit(iris)
    assert [r["status"] for r in model.trials.collect()] == ["ok", "ok"]
