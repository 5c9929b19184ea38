"""The py4j boundary: callbacks come from one JVM thread, so repeated fits leak no Python thread."""

import threading

from hyperopt import hp
from pyspark.ml import Pipeline
from pyspark.ml.classification import NaiveBayes
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import Binarizer, VectorAssembler

from sparktpe import BayesianCrossValidator


def test_repeated_tpe_fits_do_not_grow_python_threads(cancer):
    binarizer = Binarizer(inputCol="worst_radius", outputCol="big")
    pipeline = Pipeline(stages=[binarizer, VectorAssembler(inputCols=["big"], outputCol="features"),
                                NaiveBayes(labelCol="target", modelType="bernoulli")])
    # 2 trials of 2 folds: a fit's callbacks are one per proposal, whatever the fits cost
    cv = BayesianCrossValidator(
        estimator=pipeline, maxEvals=2, numFolds=2, parallelism=2, seed=1,
        evaluator=MulticlassClassificationEvaluator(labelCol="target", metricName="accuracy"),
        searchSpace={binarizer.threshold: hp.uniform("threshold", 8.0, 36.0)})
    counts = []
    for _ in range(5):
        assert len(cv.fit(cancer).avgMetrics) == 2
        counts.append(threading.active_count())
    # Each distinct JVM thread that calls back leaves a Python thread behind. Calls from each
    # fit's worker pool would add `parallelism` threads per fit; through the one proposer thread
    # the count settles (py4j may open one more pooled connection, e.g. to release proxies).
    assert counts[-1] - counts[0] <= 1
    assert counts[-1] == counts[-2] == counts[-3]
