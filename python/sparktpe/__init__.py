"""sparktpe: hyper-parameter search for Spark ML, a drop-in for ``CrossValidator``.

``BayesianCrossValidator`` takes the same Params as Spark's ``CrossValidator`` and can also run
Bayesian optimisation with Hyperopt's Tree-structured Parzen Estimators (Bergstra et al.,
NeurIPS 2011) over whole MLlib Pipelines, with ``parallelism`` model fits in flight at once.
The search runs in the JVM (package ``sparktpe`` of the jar); this package is its PySpark face.
"""

from sparktpe.jar import configure, spark_jars
from sparktpe.errors import SearchError, SearchInterrupted
from sparktpe.space import subspace
from sparktpe.tuning import (BayesianCrossValidator, BayesianCrossValidatorModel,
                             BayesianTrainValidationSplit, BayesianTrainValidationSplitModel)
from sparktpe.version import VERSION

__version__ = VERSION

__all__ = [
    "BayesianCrossValidator",
    "BayesianCrossValidatorModel",
    "BayesianTrainValidationSplit",
    "BayesianTrainValidationSplitModel",
    "SearchError",
    "SearchInterrupted",
    "configure",
    "spark_jars",
    "subspace",
]
