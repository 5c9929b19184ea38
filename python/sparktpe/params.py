"""The Params of sparktpe's tuners: the same names, docs and defaults as the Scala classes.

Values are checked when set and again before ``fit``; a bad value raises ``ValueError`` naming
the Param, the value and what is allowed, before any Spark job starts.
"""

from pyspark.ml.param import Param, Params, TypeConverters

ALGORITHMS = ("grid", "random", "tpe")
PRUNING_RULES = ("none", "median")


def java_string_hash(text):
    """``String.hashCode`` of the JVM, so the default seed equals the Scala class's."""
    h = 0
    for ch in text:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def not_allowed(owner, name, value, allowed):
    """The one error message for a bad Param value, as the Scala side words it."""
    return ValueError(f"{owner.uid}: {name} = {value} is not allowed: {allowed}")


def trials_json(value):
    """``initialTrials`` converter: a fitted or loaded sparktpe model, or the
    :class:`sparktpe.SearchError` / :class:`sparktpe.SearchInterrupted` of a search that ended
    early, becomes its trials' JSON; a string is taken as that JSON.

    Raises
    ------
    TypeError
        For an error that carries no trials (the JVM search could not be reached).
    """
    java_model = getattr(value, "_java_model", None)
    if java_model is not None:
        return java_model.trialsJson()
    if isinstance(value, BaseException):
        carried = getattr(value, "trialsJson", None)
        if not isinstance(carried, str):
            raise TypeError(f"initialTrials: {type(value).__name__} carries no trials to "
                            "continue from")
        return carried
    return TypeConverters.toString(value)


class TuningParams(Params):
    """Params shared by sparktpe's tuners (see the Scala trait ``sparktpe.TuningParams``)."""

    estimator = Param(Params._dummy(), "estimator",
                      "estimator to tune (a single stage or a Pipeline)")
    estimatorParamMaps = Param(
        Params._dummy(), "estimatorParamMaps",
        "grid of param maps; in tpe or random mode with no searchSpace its values form the space")
    evaluator = Param(Params._dummy(), "evaluator",
                      "evaluator used to select hyper-parameters")
    seed = Param(Params._dummy(), "seed", "random seed", typeConverter=TypeConverters.toInt)
    parallelism = Param(Params._dummy(), "parallelism",
                        "number of (trial, fold) fits in flight at once (>= 1)",
                        typeConverter=TypeConverters.toInt)
    collectSubModels = Param(Params._dummy(), "collectSubModels",
                             "whether to keep every fitted sub-model (memory grows with trials x folds)",
                             typeConverter=TypeConverters.toBoolean)
    searchAlgorithm = Param(Params._dummy(), "searchAlgorithm",
                            "how trials are proposed: grid, random or tpe. Default: tpe when a "
                            "searchSpace is set, grid otherwise",
                            typeConverter=TypeConverters.toString)
    maxEvals = Param(Params._dummy(), "maxEvals",
                     "number of trials (parameter settings) to evaluate (>= 1); default: the whole grid",
                     typeConverter=TypeConverters.toInt)
    searchSpace = Param(Params._dummy(), "searchSpace",
                        "search space: the Params to search (of the estimator or any Pipeline "
                        "stage) and their distributions; Python: a dict of Hyperopt expressions, "
                        "Scala: a SearchSpace")

    timeout = Param(Params._dummy(), "timeout",
                    "seconds the whole search may take (> 0): then no new trial starts, running "
                    "fits are cancelled and the best finished trial wins; unset: no limit",
                    typeConverter=TypeConverters.toFloat)
    earlyStopRounds = Param(Params._dummy(), "earlyStopRounds",
                            "stop after this many finished trials in a row that do not improve the "
                            "best metric by more than earlyStopTolerance (>= 1); unset: never",
                            typeConverter=TypeConverters.toInt)
    earlyStopTolerance = Param(Params._dummy(), "earlyStopTolerance",
                               "relative improvement of the best metric that resets "
                               "earlyStopRounds (>= 0)", typeConverter=TypeConverters.toFloat)
    targetMetric = Param(Params._dummy(), "targetMetric",
                         "stop as soon as the best metric reaches this value (>= it when larger is "
                         "better, <= otherwise); unset: never", typeConverter=TypeConverters.toFloat)

    pruning = Param(Params._dummy(), "pruning",
                    "fold-level pruning: none, or median (after each fold, a trial whose mean over "
                    "the folds evaluated so far is worse than the median of the finished trials' "
                    "means over the same folds starts no more folds and is recorded as pruned)",
                    typeConverter=TypeConverters.toString)
    pruningMinTrials = Param(Params._dummy(), "pruningMinTrials",
                             "finished trials needed before a trial can be pruned (>= 1)",
                             typeConverter=TypeConverters.toInt)

    initialTrials = Param(Params._dummy(), "initialTrials",
                          "trials of an earlier search to continue from (JSON, as a tuned model's "
                          "trialsJson); they come first in trial order, the proposer hears them, "
                          "then maxEvals more trials run", typeConverter=trials_json)

    showProgress = Param(Params._dummy(), "showProgress",
                         "draw a progress bar while fitting, when interactive (Python wrapper)",
                         typeConverter=TypeConverters.toBoolean)
    mlflowLogging = Param(Params._dummy(), "mlflowLogging",
                          "log the search to MLflow, one child run per trial (Python wrapper); "
                          "unset: when a run is active", typeConverter=TypeConverters.toBoolean)

    reuseUntunedStages = Param(Params._dummy(), "reuseUntunedStages",
                               "fit the leading Pipeline stages that no setting touches once per "
                               "fold and cache their output (else each fold's rows) for the "
                               "search; false: refit every stage in every trial",
                               typeConverter=TypeConverters.toBoolean)

    def __init__(self):
        super().__init__()
        self._setDefault(parallelism=1, collectSubModels=False, earlyStopTolerance=0.0,
                         pruning="none", pruningMinTrials=5, showProgress=True,
                         reuseUntunedStages=True,
                         seed=java_string_hash("sparktpe." + type(self).__name__))

    def getEstimator(self):
        return self.getOrDefault(self.estimator)

    def getEstimatorParamMaps(self):
        return self.getOrDefault(self.estimatorParamMaps)

    def getEvaluator(self):
        return self.getOrDefault(self.evaluator)

    def getSeed(self):
        return self.getOrDefault(self.seed)

    def getParallelism(self):
        return self.getOrDefault(self.parallelism)

    def getCollectSubModels(self):
        return self.getOrDefault(self.collectSubModels)

    def getSearchSpace(self):
        return self.getOrDefault(self.searchSpace)

    def getTimeout(self):
        return self.getOrDefault(self.timeout)

    def getEarlyStopRounds(self):
        return self.getOrDefault(self.earlyStopRounds)

    def getEarlyStopTolerance(self):
        return self.getOrDefault(self.earlyStopTolerance)

    def getTargetMetric(self):
        return self.getOrDefault(self.targetMetric)

    def getPruning(self):
        return self.getOrDefault(self.pruning)

    def getPruningMinTrials(self):
        return self.getOrDefault(self.pruningMinTrials)

    def getInitialTrials(self):
        return self.getOrDefault(self.initialTrials)

    def getShowProgress(self):
        return self.getOrDefault(self.showProgress)

    def getReuseUntunedStages(self):
        """The ``reuseUntunedStages`` Param (bool, default True): see the tuners' docstrings."""
        return self.getOrDefault(self.reuseUntunedStages)

    def getMlflowLogging(self):
        """The ``mlflowLogging`` Param; raises KeyError when unset (then: log when a run is active)."""
        return self.getOrDefault(self.mlflowLogging)

    def getSearchAlgorithm(self):
        """The algorithm in force: the set value, else "tpe" with a searchSpace, else "grid"."""
        if self.isSet(self.searchAlgorithm):
            return self.getOrDefault(self.searchAlgorithm)
        return "tpe" if self.isSet(self.searchSpace) else "grid"

    def getMaxEvals(self):
        """The trial budget in force: the set value, else the grid's size.

        Raises
        ------
        ValueError
            When maxEvals is unset and there is no grid.
        """
        if self.isSet(self.maxEvals):
            return self.getOrDefault(self.maxEvals)
        if self.isDefined(self.estimatorParamMaps):
            return len(self.getEstimatorParamMaps())
        raise not_allowed(self, "maxEvals", "unset",
                          "maxEvals must be set (>= 1) when there is no estimatorParamMaps")


class CrossValidatorParams(TuningParams):
    """Params of ``BayesianCrossValidator`` and its model."""

    numFolds = Param(Params._dummy(), "numFolds", "number of folds for cross validation (>= 2)",
                     typeConverter=TypeConverters.toInt)
    foldCol = Param(Params._dummy(), "foldCol",
                    "column holding each row's fold number in [0, numFolds); empty for random "
                    "folds from seed", typeConverter=TypeConverters.toString)

    def __init__(self):
        super().__init__()
        self._setDefault(numFolds=3, foldCol="")

    def getNumFolds(self):
        return self.getOrDefault(self.numFolds)

    def getFoldCol(self):
        return self.getOrDefault(self.foldCol)


class TrainValidationSplitParams(TuningParams):
    """Params of ``BayesianTrainValidationSplit`` and its model."""

    trainRatio = Param(Params._dummy(), "trainRatio",
                       "ratio between training set and validation set (>= 0 && <= 1)",
                       typeConverter=TypeConverters.toFloat)

    def __init__(self):
        super().__init__()
        self._setDefault(trainRatio=0.75)

    def getTrainRatio(self):
        return self.getOrDefault(self.trainRatio)
