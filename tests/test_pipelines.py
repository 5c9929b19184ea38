"""The tuners as Pipeline stages, copy() and explainParams(), as Spark's tuners behave."""

from hyperopt import hp
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression, NaiveBayes
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.tuning import ParamGridBuilder

from sparktpe import (BayesianCrossValidator, BayesianCrossValidatorModel,
                      BayesianTrainValidationSplit, BayesianTrainValidationSplitModel)

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_tuners_work_as_stages_of_a_pipeline(iris):
    # NaiveBayes: one counting job per fit (LogisticRegression: one per iteration); iris's
    # features are non-negative, as its default multinomial model needs.
    nb = NaiveBayes(labelCol="target")
    evaluator = MulticlassClassificationEvaluator(labelCol="target")
    for tuner, model_class in [
            (BayesianCrossValidator(estimator=nb, evaluator=evaluator, numFolds=2, maxEvals=3,
                                    searchSpace={nb.smoothing: hp.loguniform("s", -6, 0)}, seed=1),
             BayesianCrossValidatorModel),
            (BayesianTrainValidationSplit(estimator=nb, evaluator=evaluator, seed=1,
                                          estimatorParamMaps=ParamGridBuilder()
                                          .addGrid(nb.smoothing, [0.01, 1.0]).build()),
             BayesianTrainValidationSplitModel)]:
        pipeline = Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), tuner])
        model = pipeline.fit(iris)
        assert isinstance(model, PipelineModel)
        assert isinstance(model.stages[-1], model_class)
        assert model.stages[-1].uid == tuner.uid
        predicted = model.transform(iris).select("prediction").collect()
        assert len(predicted) == 150 and len({r.prediction for r in predicted}) == 3


def test_copy_keeps_uids_and_copies_the_estimator_and_evaluator():
    lr = LogisticRegression()
    evaluator = MulticlassClassificationEvaluator()
    cv = BayesianCrossValidator(estimator=lr, evaluator=evaluator, numFolds=4, parallelism=2)
    copied = cv.copy({cv.numFolds: 5, lr.maxIter: 7})
    assert copied.uid == cv.uid
    assert copied.getNumFolds() == 5 and cv.getNumFolds() == 4
    assert copied.getEstimator() is not lr and copied.getEstimator().uid == lr.uid
    assert copied.getEstimator().getMaxIter() == 7 and lr.getMaxIter() == 100
    assert copied.getEvaluator() is not evaluator and copied.getEvaluator().uid == evaluator.uid


def test_explain_params_documents_every_param_with_its_default():
    text = BayesianCrossValidator().explainParams()
    for name in ["estimator", "estimatorParamMaps", "evaluator", "numFolds", "foldCol", "seed",
                 "parallelism", "collectSubModels", "searchAlgorithm", "maxEvals", "searchSpace"]:
        assert f"\n{name}: " in "\n" + text
    assert "number of folds for cross validation (>= 2) (default: 3)" in text
    assert "(>= 1) (default: 1)" in text
    assert "trainRatio: ratio between training set and validation set (>= 0 && <= 1) (default: 0.75)" \
        in BayesianTrainValidationSplit().explainParams()
