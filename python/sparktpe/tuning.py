"""``BayesianCrossValidator``: Spark's ``CrossValidator`` with random and TPE search.

The search itself runs in the JVM (``sparktpe.BayesianCrossValidator`` of the jar): folds,
the pool of ``parallelism`` fits, and the bookkeeping. For ``searchAlgorithm="tpe"`` (or
"random" over a Hyperopt ``searchSpace``) the JVM asks this process for each trial through a
py4j callback answered by :class:`sparktpe.proposer.HyperoptProposer`.
"""

import json
import threading

from py4j.java_collections import JavaArray
from py4j.java_gateway import JavaObject

from pyspark import keyword_only
from pyspark.java_gateway import ensure_callback_server_started
from pyspark.ml import Estimator, Model
from pyspark.ml.common import _java2py, _py2java
from pyspark.ml.util import JavaMLReadable, JavaMLReader, JavaMLWritable
from pyspark.ml.wrapper import JavaParams, JavaWrapper
from pyspark.sql import DataFrame
from pyspark.util import InheritableThread

from sparktpe.errors import SearchError
from sparktpe.jar import require_jar
from sparktpe.params import (ALGORITHMS, PRUNING_RULES, CrossValidatorParams,
                             TrainValidationSplitParams, not_allowed)
from sparktpe.progress import SearchProgress, interactive
from sparktpe.tracking import logged_search
from sparktpe.proposer import HyperoptProposer
from sparktpe.space import (check_space, grid_as_space, is_param, space_params, stages_in)
from sparktpe.space_json import space_from_json, space_to_json
from sparktpe.stages import all_stages, java_stages, owner_of


class _Checks:
    """Param checks shared by the tuners: on set (values) and before fit (the whole setup)."""

    def _check_values(self):
        checks = [
            (self.parallelism, lambda v: v >= 1, "parallelism must be >= 1"),
            (self.maxEvals, lambda v: v >= 1, "maxEvals must be >= 1"),
            (self.timeout, lambda v: v > 0, "timeout must be > 0 seconds"),
            (self.earlyStopRounds, lambda v: v >= 1, "earlyStopRounds must be >= 1"),
            (self.earlyStopTolerance, lambda v: v >= 0, "earlyStopTolerance must be >= 0"),
            (self.searchAlgorithm, lambda v: v in ALGORITHMS, "one of " + ", ".join(ALGORITHMS)),
            (self.pruning, lambda v: v in PRUNING_RULES, "one of " + ", ".join(PRUNING_RULES)),
            (self.pruningMinTrials, lambda v: v >= 1, "pruningMinTrials must be >= 1"),
        ]
        if self.hasParam("numFolds"):
            checks.append((self.numFolds, lambda v: v >= 2, "numFolds must be >= 2"))
        if self.hasParam("trainRatio"):
            checks.append((self.trainRatio, lambda v: 0 <= v <= 1, "trainRatio must be in [0, 1]"))
        for param, ok, allowed in checks:
            if self.isSet(param) and not ok(self.getOrDefault(param)):
                raise not_allowed(self, param.name, self.getOrDefault(param), allowed)
        if self.isSet(self.searchSpace):
            check_space(self, self.getSearchSpace())
        if self.isSet(self.estimatorParamMaps) and len(self.getEstimatorParamMaps()) == 0:
            raise not_allowed(self, "estimatorParamMaps", "[]", "at least one ParamMap")

    def _check_for_fit(self):
        self._check_values()
        if not self.isSet(self.estimator):
            raise not_allowed(self, "estimator", "unset", "an Estimator must be set")
        if not self.isSet(self.evaluator):
            raise not_allowed(self, "evaluator", "unset", "an Evaluator must be set")
        algorithm = self.getSearchAlgorithm()
        has_grid = self.isSet(self.estimatorParamMaps)
        has_space = self.isSet(self.searchSpace)
        if algorithm == "grid" and not has_grid:
            raise not_allowed(self, "estimatorParamMaps", "unset", "grid search needs estimatorParamMaps")
        if algorithm != "grid" and not (has_grid or has_space):
            raise not_allowed(self, "searchSpace", "unset",
                              f"{algorithm} search needs a searchSpace or estimatorParamMaps")
        self.getMaxEvals()
        estimator = self.getEstimator()
        for param_map in (self.getEstimatorParamMaps() if has_grid else []):
            for param in param_map:
                owner_of(estimator, param)
        if has_space:
            space = self.getSearchSpace()
            extra = stages_in(space)
            for key in space:
                if is_param(key):
                    owner_of(estimator, key, extra)
            space_params(self, space, self._tunable_stages())

    def _tunable_stages(self):
        """The estimator's stages and those a conditional search space brings in."""
        extra = stages_in(self.getSearchSpace()) if self.isSet(self.searchSpace) else []
        return all_stages(self.getEstimator()) + [s for e in extra for s in all_stages(e)]


class _SparktpeReader(JavaMLReader):
    """Loads through the JVM class of the same name in package ``sparktpe``."""

    @classmethod
    def _java_loader_class(cls, clazz):
        return "sparktpe." + clazz.__name__


class _Persistence(JavaMLWritable, JavaMLReadable):
    """Save and load through the JVM writer and reader (Spark metadata JSON and stage folders),
    so that Python and Scala read each other's saved tuners and models."""

    @classmethod
    def read(cls):
        return _SparktpeReader(cls)


class _BayesianTuner(Estimator, _Checks, _Persistence):
    """What both tuners share: setters, the JVM search run in a cancellable worker thread, and
    the model built from the JVM result. Subclasses add their split Params."""

    _java_class = None

    def _set_checked(self, **kwargs):
        self._set(**kwargs)
        self._check_values()
        return self

    def setEstimator(self, value):
        return self._set_checked(estimator=value)

    def setEstimatorParamMaps(self, value):
        return self._set_checked(estimatorParamMaps=value)

    def setEvaluator(self, value):
        return self._set_checked(evaluator=value)

    def setSeed(self, value):
        return self._set_checked(seed=value)

    def setParallelism(self, value):
        return self._set_checked(parallelism=value)

    def setCollectSubModels(self, value):
        return self._set_checked(collectSubModels=value)

    def setSearchAlgorithm(self, value):
        return self._set_checked(searchAlgorithm=value)

    def setMaxEvals(self, value):
        return self._set_checked(maxEvals=value)

    def setSearchSpace(self, value):
        return self._set_checked(searchSpace=value)

    def setTimeout(self, value):
        return self._set_checked(timeout=value)

    def setEarlyStopRounds(self, value):
        return self._set_checked(earlyStopRounds=value)

    def setEarlyStopTolerance(self, value):
        return self._set_checked(earlyStopTolerance=value)

    def setTargetMetric(self, value):
        return self._set_checked(targetMetric=value)

    def setPruning(self, value):
        return self._set_checked(pruning=value)

    def setPruningMinTrials(self, value):
        return self._set_checked(pruningMinTrials=value)

    def setInitialTrials(self, value):
        """Continue an earlier search: ``value`` is a fitted or loaded sparktpe model (or its
        trials' JSON). Its trials come first; then ``maxEvals`` more run."""
        return self._set_checked(initialTrials=value)

    def setShowProgress(self, value):
        return self._set_checked(showProgress=value)

    def setMlflowLogging(self, value):
        return self._set_checked(mlflowLogging=value)

    def _fit(self, dataset):
        self._check_for_fit()
        spark = dataset.sparkSession
        require_jar(spark)
        sc = spark.sparkContext
        # Decides whether to log to MLflow (and opens the search's run) before any Spark job.
        with logged_search(self) as search_log:
            java_tuner, proposer = self._to_java_for_fit(sc)
            java_model = self._run_cancellable(java_tuner, dataset._jdf, proposer)
            java_tuner.setTrialProposer(None)  # lets py4j release the Python proposer
            model = self._create_model(sc, java_model)
            if search_log is not None:
                search_log.finished(model)
            return model

    def _to_java(self):
        """The JVM tuner with this one's Params (its search space as JSON, for saving)."""
        from pyspark import SparkContext
        java_tuner, _ = self._to_java_for_fit(SparkContext._active_spark_context, propose=False)
        return java_tuner

    @classmethod
    def _from_java(cls, java_tuner):
        """The Python tuner for a JVM one (as loaded from disk); Params of the same names."""
        from pyspark import SparkContext
        sc = SparkContext._active_spark_context
        estimator = JavaParams._from_java(java_tuner.getEstimator())
        tuner = cls()
        tuner._resetUid(java_tuner.uid())
        tuner._set(estimator=estimator, evaluator=JavaParams._from_java(java_tuner.getEvaluator()))
        _params_from_java(sc, tuner, java_tuner, estimator)
        return tuner

    def _to_java_for_fit(self, sc, propose=True):
        """The JVM tuner with this one's Params, and the Hyperopt proposer if one is needed."""
        java_estimator = self.getEstimator()._to_java()
        java_tuner = JavaWrapper._new_java_obj(self._java_class, self.uid)
        java_tuner.setEstimator(java_estimator)
        java_tuner.setEvaluator(self.getEvaluator()._to_java())
        self._set_split_params(java_tuner)
        java_tuner.setSeed(self.getSeed())
        java_tuner.setParallelism(self.getParallelism())
        java_tuner.setCollectSubModels(self.getCollectSubModels())
        algorithm = self.getSearchAlgorithm()
        if self.isSet(self.searchAlgorithm) or propose:
            java_tuner.setSearchAlgorithm(algorithm)
        if self.isSet(self.maxEvals):
            java_tuner.setMaxEvals(self.getMaxEvals())
        for name in ("timeout", "earlyStopRounds", "earlyStopTolerance", "targetMetric",
                     "pruning", "pruningMinTrials", "initialTrials", "showProgress",
                     "mlflowLogging"):
            if self.isSet(getattr(self, name)):
                setter = getattr(java_tuner, "set" + name[0].upper() + name[1:])
                setter(self.getOrDefault(name))
        if self.isSet(self.estimatorParamMaps):
            java_tuner.setEstimatorParamMaps(
                self._grid_to_java(sc, self.getEstimatorParamMaps(), java_stages(java_estimator)))
        if self.isSet(self.searchSpace):
            try:
                java_tuner.setPythonSearchSpaceJson(space_to_json(self.getSearchSpace()))
            except ValueError:
                if not propose:
                    raise  # saving: the space must be storable
                # fitting: a space with custom scope functions still searches; saving says why not
        proposer = None
        if propose and (algorithm == "tpe" or (algorithm == "random" and self.isSet(self.searchSpace))):
            if self.isSet(self.searchSpace):
                space = self.getSearchSpace()
                params = space_params(self, space, self._tunable_stages())
                extra = stages_in(space)
                if extra:  # the JVM resolves proposed stage uids against these
                    stage_class = sc._jvm.org.apache.spark.ml.PipelineStage
                    java_extra = sc._gateway.new_array(stage_class, len(extra))
                    for i, stage in enumerate(extra):
                        java_extra[i] = stage._to_java()
                    java_tuner.setCandidateStages(java_extra)
            else:
                space, params = grid_as_space(self.getEstimatorParamMaps()), None
            proposer = HyperoptProposer(space, algorithm, self.getMaxEvals(), self.getSeed(),
                                        params=params)
            ensure_callback_server_started(sc._gateway)
            java_tuner.setTrialProposer(proposer)
        return java_tuner, proposer

    @staticmethod
    def _grid_to_java(sc, grid, stages):
        param_map_class = sc._jvm.org.apache.spark.ml.param.ParamMap
        java_grid = sc._gateway.new_array(param_map_class, len(grid))
        for i, param_map in enumerate(grid):
            java_map = JavaWrapper._new_java_obj("org.apache.spark.ml.param.ParamMap")
            for param, value in param_map.items():
                java_param = stages[param.parent].getParam(param.name)
                java_map.put([java_param.w(_py2java(sc, param.typeConverter(value)))])
            java_grid[i] = java_map
        return java_grid

    def _run_cancellable(self, java_tuner, jdf, proposer):
        """Runs the JVM fit in a worker thread, so that Ctrl-C reaches this (main) thread:
        it then cancels the search's Spark jobs, waits for the JVM to return, and re-raises."""
        outcome = {}
        done = threading.Event()

        def work():
            try:
                outcome["model"] = java_tuner.fit(jdf)
            except BaseException as e:  # handed to the waiting thread
                outcome["error"] = e
            finally:
                done.set()

        InheritableThread(target=work, name="sparktpe-fit", daemon=True).start()
        progress = SearchProgress(java_tuner) if self.getShowProgress() and interactive() else None
        try:
            while not done.wait(0.5):
                if progress is not None:
                    progress.update()
        except KeyboardInterrupt:
            java_tuner.cancel()
            done.wait(60)
            raise
        finally:
            if progress is not None:
                progress.update()  # the end state: every finished trial and the best metric
                progress.close()
        if "error" in outcome:
            error = outcome["error"]
            translated = _search_error(error, proposer)
            if translated is error:
                raise error
            raise translated from (proposer.error if proposer is not None and proposer.error
                                   is not None else error)
        return outcome["model"]

    def _create_model(self, sc, java_model):
        model = self._model_class._from_java(java_model, self.getEstimator(),
                                             self._tunable_stages())
        if self.isSet(self.searchSpace):
            model._set(searchSpace=self.getSearchSpace())  # the user's own expressions
        return model

    def copy(self, extra=None):
        """A copy with the same uid; the estimator and evaluator are copied too, as in Spark."""
        extra = dict(extra or {})
        copied = super().copy(extra)
        if self.isSet(self.estimator):
            copied.setEstimator(self.getEstimator().copy(extra))
        if self.isSet(self.evaluator):
            copied.setEvaluator(self.getEvaluator().copy(extra))
        return copied


class BayesianCrossValidator(_BayesianTuner, CrossValidatorParams):
    """K-fold cross-validation with grid, random or Bayesian (TPE) search over Spark ML Params.

    A drop-in replacement for ``pyspark.ml.tuning.CrossValidator``: the same constructor
    arguments and model attributes, and in grid mode the same ``avgMetrics`` as Spark's Scala
    ``CrossValidator`` for the same seed. With a ``searchSpace`` (or ``searchAlgorithm="tpe"``
    on a grid) trials are proposed by Hyperopt's Tree-structured Parzen Estimators
    (Bergstra, Bardenet, Bengio and Kegl, "Algorithms for Hyper-Parameter Optimization",
    NeurIPS 2011; ``hyperopt.tpe.suggest``), one at a time, told about finished, failed and
    pending trials.

    Parameters
    ----------
    estimator : pyspark.ml.Estimator
        The estimator or ``Pipeline`` to tune. Required.
    estimatorParamMaps : list of dict, optional
        A grid from ``ParamGridBuilder``. In "tpe"/"random" mode with no ``searchSpace``,
        each Param becomes an ``hp.choice`` over its grid values.
    evaluator : pyspark.ml.evaluation.Evaluator
        Scores each fold's model. Required.
    numFolds : int, default 3
        Number of folds, >= 2.
    foldCol : str, default ""
        Integer column of fold numbers in [0, numFolds); "" means random folds from ``seed``.
    seed : int, optional
        Seeds the folds and the proposer. Default: the JVM class name's hash, as in Spark.
    parallelism : int, default 1
        (trial, fold) fits in flight at once, >= 1.
    collectSubModels : bool, default False
        Keep every fold's model in ``subModels``.
    searchAlgorithm : {"grid", "random", "tpe"}, optional
        Default "tpe" when ``searchSpace`` is set, else "grid".
    maxEvals : int, optional
        Number of trials, >= 1. Default: the grid's size; required with a ``searchSpace``.
    searchSpace : dict, optional
        Spark ``Param`` (of the estimator or any Pipeline stage) -> Hyperopt expression
        (``hp.uniform``, ``hp.loguniform``, ``hp.quniform``, ``hp.choice``, ...).
    timeout : float, optional
        Seconds the whole search may take (> 0); then no new trial starts, running fits are
        cancelled and the best finished trial wins (``stopReason`` says so).
    earlyStopRounds : int, optional
        Stop after this many finished trials in a row that do not improve the best metric by
        more than ``earlyStopTolerance`` (relative), >= 1.
    earlyStopTolerance : float, default 0.0
        Relative improvement that resets ``earlyStopRounds``, >= 0.
    targetMetric : float, optional
        Stop as soon as the best metric reaches this value (in the evaluator's direction).
    pruning : {"none", "median"}, default "none"
        Fold-level pruning by the median stopping rule (Golovin et al., "Google Vizier: A Service
        for Black-Box Optimization", KDD 2017; Optuna's ``MedianPruner``): after each fold, a
        trial whose mean over its evaluated folds is worse than the median of the finished
        trials' means over the same folds starts no more folds. It is recorded with status
        "pruned" and its partial metrics, never chosen as best, and TPE sees its partial loss.
    pruningMinTrials : int, default 5
        Finished trials needed before any trial is pruned, >= 1.
    initialTrials : BayesianCrossValidatorModel or str, optional
        Continue an earlier search (warm start / resume): a fitted or loaded model, or its
        trials' JSON. Those trials come first in trial order (``avgMetrics``, ``trials``), TPE
        learns from them (grid search skips their settings, random search continues its
        sequence) and ``maxEvals`` more trials run; the best of all is refitted. Their metrics
        compare with new ones only on the same data, folds and evaluator. Raises ``ValueError``
        from ``fit`` when a trial sets a Param of no stage of the estimator, or was scored on
        another number of folds.
    showProgress : bool, default True
        Draw a ``tqdm`` progress bar during ``fit`` (trials finished / ``maxEvals``, best metric,
        elapsed seconds; a widget in Jupyter), only when stderr is a terminal or a notebook
        runs. False: never. The JVM logs one INFO line per finished trial either way.
    mlflowLogging : bool, optional
        Log the search to MLflow: a parent run with the tuner's Params, the best metric and
        model and the trials table, and one child run per trial (Params, per-fold and mean
        metric, status, seconds). Unset: log when ``mlflow`` is installed and a run is active;
        True: always (starting a run if none is active; needs ``mlflow``); False: never.

    Raises
    ------
    ValueError
        From the constructor, setters or ``fit``, for a bad Param value, before any Spark job.
    SearchError
        From ``fit``, when the proposer raised (the Python traceback is in the message and the
        original exception is the ``__cause__``), the search was cancelled, or no trial succeeded.
    KeyboardInterrupt
        Ctrl-C during ``fit`` cancels this search's Spark jobs and re-raises.

    Notes
    -----
    TPE starts with ``max(2, min(20, maxEvals // 4))`` random trials (Hyperopt's default is 20).
    Needs classic PySpark with the sparktpe jar: see :func:`sparktpe.configure`.

    Examples
    --------
    >>> from hyperopt import hp
    >>> cv = BayesianCrossValidator(estimator=lr, evaluator=BinaryClassificationEvaluator(),
    ...                             searchSpace={lr.regParam: hp.loguniform("reg", -9, 0)},
    ...                             maxEvals=30, parallelism=3)
    >>> model = cv.fit(train)
    """

    _java_class = "sparktpe.BayesianCrossValidator"

    @keyword_only
    def __init__(self, *, estimator=None, estimatorParamMaps=None, evaluator=None, numFolds=3,
                 seed=None, parallelism=1, collectSubModels=False, foldCol="",
                 searchAlgorithm=None, maxEvals=None, searchSpace=None, timeout=None,
                 earlyStopRounds=None, earlyStopTolerance=0.0, targetMetric=None,
                 pruning="none", pruningMinTrials=5,
                 initialTrials=None, showProgress=True, mlflowLogging=None):
        super().__init__()
        self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})
        self._check_values()

    @keyword_only
    def setParams(self, *, estimator=None, estimatorParamMaps=None, evaluator=None, numFolds=3,
                  seed=None, parallelism=1, collectSubModels=False, foldCol="",
                  searchAlgorithm=None, maxEvals=None, searchSpace=None, timeout=None,
                 earlyStopRounds=None, earlyStopTolerance=0.0, targetMetric=None,
                 pruning="none", pruningMinTrials=5,
                 initialTrials=None, showProgress=True, mlflowLogging=None):
        """Sets Params by keyword, as PySpark estimators do."""
        self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})
        self._check_values()
        return self

    def setNumFolds(self, value):
        return self._set_checked(numFolds=value)

    def setFoldCol(self, value):
        return self._set_checked(foldCol=value)

    def _set_split_params(self, java_tuner):
        java_tuner.setNumFolds(self.getNumFolds())
        java_tuner.setFoldCol(self.getFoldCol())

    @property
    def _model_class(self):
        return BayesianCrossValidatorModel


class _TunedModel(Model, _Persistence):
    """What both tuner models share: ``bestModel``, ``subModels``, ``trials``, ``stopReason``."""

    def _to_java(self):
        """The JVM model this one wraps (fitted or loaded): it holds the trials."""
        if self.isSet(self.searchSpace):
            self._java_model.setPythonSearchSpaceJson(space_to_json(self.getSearchSpace()))
        return self._java_model

    @classmethod
    def _from_java(cls, java_model, estimator=None, stages=None):
        """The Python model for a JVM one; ``estimator`` supplies the Python Params of the
        settings (default: the JVM model's estimator, converted), ``stages`` every stage a
        setting may name (default: the estimator's)."""
        from pyspark import SparkContext
        sc = SparkContext._active_spark_context
        if estimator is None:
            estimator = JavaParams._from_java(java_model.getEstimator())
        best = JavaParams._from_java(java_model.bestModel())
        sub_models = _sub_models_from_java(java_model) if java_model.hasSubModels() else None
        model = cls._new(best, sub_models, java_model)
        model._resetUid(java_model.uid())
        model._set(estimator=estimator, evaluator=JavaParams._from_java(java_model.getEvaluator()))
        _params_from_java(sc, model, java_model, estimator, stages)
        return model

    def __init__(self, bestModel, subModels=None, javaModel=None):
        super().__init__()
        self.bestModel = bestModel
        self.subModels = subModels
        self._java_model = javaModel

    @property
    def trials(self):
        """One row per trial (see the class docstring); a DataFrame of the active session."""
        from pyspark.sql import SparkSession
        return DataFrame(self._java_model.trials(), SparkSession.active())

    @property
    def stopReason(self):
        """Why the search stopped, e.g. "maxEvals (40) reached"."""
        return self._java_model.stopReason()

    @property
    def bestTrialId(self):
        """int: ``trialId`` of the best trial, the one ``bestModel`` was refitted from."""
        return self._java_model.bestTrialId()

    def _transform(self, dataset):
        return self.bestModel.transform(dataset)


class BayesianCrossValidatorModel(_TunedModel, CrossValidatorParams):
    """The fitted :class:`BayesianCrossValidator`: the best trial's model refitted on all data.

    Attributes
    ----------
    bestModel : pyspark.ml.Model
        Used by ``transform``.
    avgMetrics : list of float
        Mean metric over folds of each trial, in trial order (NaN for failed trials).
    stdMetrics : list of float
        Population standard deviation over folds of each trial's metric.
    subModels : list of list of Model or None
        ``[fold][trial]`` models when ``collectSubModels`` was set.
    trials : pyspark.sql.DataFrame
        One row per trial: ``trialId``, one column per tuned Param, ``foldMetrics``,
        ``metric``, ``stdMetric``, ``status``, ``error``, ``fitSeconds`` (seconds).
    stopReason : str
        Why the search stopped.
    """

    def __init__(self, bestModel, avgMetrics=None, stdMetrics=None, subModels=None, javaModel=None):
        super().__init__(bestModel, subModels, javaModel)
        self.avgMetrics = avgMetrics or []
        self.stdMetrics = stdMetrics or []

    @classmethod
    def _new(cls, best, sub_models, java_model):
        return cls(best, list(java_model.avgMetrics()), list(java_model.stdMetrics()), sub_models,
                   java_model)

    def copy(self, extra=None):
        extra = dict(extra or {})
        copied = BayesianCrossValidatorModel(
            self.bestModel.copy(extra), list(self.avgMetrics), list(self.stdMetrics),
            self.subModels, self._java_model)
        copied._resetUid(self.uid)
        return self._copyValues(copied, extra)


class BayesianTrainValidationSplitModel(_TunedModel, TrainValidationSplitParams):
    """The fitted :class:`BayesianTrainValidationSplit`.

    Attributes
    ----------
    bestModel : pyspark.ml.Model
        The best trial's model refitted on all data; used by ``transform``.
    validationMetrics : list of float
        Each trial's metric on the validation part, in trial order (NaN for failed trials).
    subModels : list of Model or None
        Each trial's model (fitted on the training part) when ``collectSubModels`` was set.
    trials, stopReason
        As for :class:`BayesianCrossValidatorModel` (``foldMetrics`` has one entry).
    """

    def __init__(self, bestModel, validationMetrics=None, subModels=None, javaModel=None):
        super().__init__(bestModel, subModels, javaModel)
        self.validationMetrics = validationMetrics or []

    @classmethod
    def _new(cls, best, sub_models, java_model):
        return cls(best, list(java_model.validationMetrics()), sub_models and sub_models[0],
                   java_model)

    def copy(self, extra=None):
        extra = dict(extra or {})
        copied = BayesianTrainValidationSplitModel(
            self.bestModel.copy(extra), list(self.validationMetrics), self.subModels,
            self._java_model)
        copied._resetUid(self.uid)
        return self._copyValues(copied, extra)


class BayesianTrainValidationSplit(_BayesianTuner, TrainValidationSplitParams):
    """Search scored on one train/validation split: a drop-in for Spark's ``TrainValidationSplit``.

    Same Params as :class:`BayesianCrossValidator` with ``trainRatio`` (float in [0, 1],
    default 0.75) instead of ``numFolds``/``foldCol``. The split is Spark's
    ``randomSplit([trainRatio, 1 - trainRatio], seed)`` in the JVM, so grid mode gives the
    ``validationMetrics`` of Spark's Scala ``TrainValidationSplit``. Errors as for
    :class:`BayesianCrossValidator`.
    """

    _java_class = "sparktpe.BayesianTrainValidationSplit"

    @keyword_only
    def __init__(self, *, estimator=None, estimatorParamMaps=None, evaluator=None, trainRatio=0.75,
                 seed=None, parallelism=1, collectSubModels=False, searchAlgorithm=None,
                 maxEvals=None, searchSpace=None, timeout=None, earlyStopRounds=None,
                 earlyStopTolerance=0.0, targetMetric=None, pruning="none",
                 pruningMinTrials=5, initialTrials=None, showProgress=True, mlflowLogging=None):
        super().__init__()
        self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})
        self._check_values()

    @keyword_only
    def setParams(self, *, estimator=None, estimatorParamMaps=None, evaluator=None, trainRatio=0.75,
                  seed=None, parallelism=1, collectSubModels=False, searchAlgorithm=None,
                  maxEvals=None, searchSpace=None, timeout=None, earlyStopRounds=None,
                  earlyStopTolerance=0.0, targetMetric=None, pruning="none",
                 pruningMinTrials=5, initialTrials=None, showProgress=True, mlflowLogging=None):
        """Sets Params by keyword, as PySpark estimators do."""
        self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})
        self._check_values()
        return self

    def setTrainRatio(self, value):
        return self._set_checked(trainRatio=value)

    def _set_split_params(self, java_tuner):
        java_tuner.setTrainRatio(float(self.getTrainRatio()))

    @property
    def _model_class(self):
        return BayesianTrainValidationSplitModel


def _sub_models_from_java(java_model):
    """``[fold][trial]`` Python models (TrainValidationSplit: one "fold")."""
    folds = java_model.subModels()
    if java_model.getClass().getName() == "sparktpe.BayesianTrainValidationSplitModel":
        folds = [folds]
    return [[JavaParams._from_java(m) if m is not None else None for m in fold] for fold in folds]


_SIMPLE = ("numFolds", "foldCol", "trainRatio", "seed", "parallelism", "collectSubModels",
           "searchAlgorithm", "maxEvals", "timeout", "earlyStopRounds", "earlyStopTolerance",
           "targetMetric", "pruning", "pruningMinTrials", "initialTrials", "showProgress",
           "mlflowLogging")


def _params_from_java(sc, target, java_obj, estimator, stages=None):
    """Copy the Params set on a JVM tuner or model to its Python twin, with the grid's and the
    search space's Params resolved against the Python ``estimator`` (or ``stages``)."""
    by_uid = {s.uid: s for s in (stages if stages is not None else all_stages(estimator))}
    for name in _SIMPLE:
        if target.hasParam(name) and java_obj.isSet(java_obj.getParam(name)):
            target._set(**{name: _java2py(sc, java_obj.getOrDefault(java_obj.getParam(name)))})
    if java_obj.isSet(java_obj.getParam("estimatorParamMaps")):
        stage_class = sc._jvm.java.lang.Class.forName("org.apache.spark.ml.PipelineStage")
        target._set(estimatorParamMaps=[_param_map_from_java(sc, by_uid, java_obj.paramMapEntries(m), stage_class)
                                        for m in java_obj.getEstimatorParamMaps()])
    space = java_obj.getPythonSearchSpaceJson()
    if space is not None:
        target._set(searchSpace=space_from_json(space, lambda uid, name: by_uid[uid].getParam(name)))


def _param_map_from_java(sc, stages, java_entries, stage_class):
    """A JVM ParamMap's (Param, value) entries (``TuningParams.paramMapEntries``: invalid values
    included, which ``ParamMap.toList`` would refuse) as a Python ParamMap, with the Params (and
    stage values, recognised by the JVM ``stage_class``) of the Python ``stages`` (uid -> stage)."""
    result = {}
    for entry in java_entries:
        java_param, value = entry[0], entry[1]
        stage = stages[java_param.parent()]
        if isinstance(value, JavaArray) and len(value) > 0 and stage_class.isInstance(value[0]):
            value = [stages[v.uid()] for v in value]
        elif isinstance(value, JavaObject) and stage_class.isInstance(value):
            value = stages[value.uid()]
        else:
            value = _java2py(sc, value)
        result[stage.getParam(java_param.name())] = value
    return result


def _search_error(error, proposer):
    """The exception ``fit`` raises for an error from the JVM search."""
    if proposer is not None and proposer.error is not None:
        return SearchError("the search stopped because the Hyperopt proposer raised "
                           f"{type(proposer.error).__name__}: {proposer.error}\n"
                           f"Python traceback:\n{proposer.error_traceback}")
    java_error = getattr(error, "java_exception", None)
    if java_error is not None and java_error.getClass().getName() == "sparktpe.SearchException":
        return SearchError(str(java_error.getMessage()), json.loads(java_error.trialsJson()))
    return error
