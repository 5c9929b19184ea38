"""Any 64-bit seed works with every tuner and algorithm, the default seeds included."""

import pytest
from hyperopt import hp
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.linalg import Vectors
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import ParamGridBuilder

from sparktpe import BayesianCrossValidator, BayesianTrainValidationSplit


@pytest.fixture(scope="module")
def line(jvm_frame):
    return jvm_frame([(2.0 * i + (i % 3) / 3, Vectors.dense([float(i)])) for i in range(24)],
                     ["label", "features"])


def setup(tuner_class, algorithm, seed):
    lin = LinearRegression(maxIter=3)
    kwargs = dict(estimator=lin, evaluator=RegressionEvaluator(), searchAlgorithm=algorithm,
                  maxEvals=2)
    if algorithm == "grid":
        kwargs["estimatorParamMaps"] = ParamGridBuilder().addGrid(lin.regParam, [0.0, 1.0]).build()
    else:
        kwargs["searchSpace"] = {lin.regParam: hp.uniform("regParam", 0.0, 1.0)}
    if tuner_class is BayesianCrossValidator:
        kwargs["numFolds"] = 2
    tuner = tuner_class(**kwargs)
    if seed is not None:
        tuner.setSeed(seed)
    return tuner


@pytest.mark.parametrize("tuner_class", [BayesianCrossValidator, BayesianTrainValidationSplit])
@pytest.mark.parametrize("algorithm", ["grid", "random", "tpe"])
@pytest.mark.parametrize("seed", [None, -2 ** 63, 2 ** 63 - 1])
def test_every_seed_works_with_every_tuner_and_algorithm(line, tuner_class, algorithm, seed):
    tuner = setup(tuner_class, algorithm, seed)
    if seed is None:  # the default: the hash of the class name, negative for the split
        assert tuner.getSeed() == {BayesianCrossValidator: 13972610,
                                   BayesianTrainValidationSplit: -1278039927}[tuner_class]
    model = tuner.fit(line)
    rows = model.trials.collect()
    assert len(rows) == 2 and {r["status"] for r in rows} == {"ok"}
    assert model.getSeed() == tuner.getSeed()


def test_a_seed_beyond_64_bits_is_refused_naming_the_param():
    with pytest.raises(ValueError, match=r"seed = 9223372036854775808 is not allowed: seed must "
                                         r"be a 64-bit integer"):
        BayesianCrossValidator(seed=2 ** 63)
