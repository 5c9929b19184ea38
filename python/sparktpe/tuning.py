"""``BayesianCrossValidator``: Spark's ``CrossValidator`` with random and TPE search.

The search itself runs in the JVM (``sparktpe.BayesianCrossValidator`` of the jar): folds,
the pool of ``parallelism`` fits, and the bookkeeping. For ``searchAlgorithm="tpe"`` (or
"random" over a Hyperopt ``searchSpace``) the JVM asks this process for each trial through a
py4j callback answered by :class:`sparktpe.proposer.HyperoptProposer`.
"""

import json
import threading

from pyspark import keyword_only
from pyspark.java_gateway import ensure_callback_server_started
from pyspark.ml import Estimator, Model
from pyspark.ml.util import JavaMLReadable, JavaMLReader, JavaMLWritable
from pyspark.ml.wrapper import JavaWrapper
from pyspark.util import InheritableThread

from sparktpe import boundary
from sparktpe.jar import require_jar
from sparktpe.params import (ALGORITHMS, PRUNING_RULES, CrossValidatorParams,
                             TrainValidationSplitParams, not_allowed)
from sparktpe.progress import SearchProgress, interactive
from sparktpe.tracking import logged_search
from sparktpe.proposer import HyperoptProposer
from sparktpe.space import (check_space, check_space_against_jvm, grid_as_space, is_param,
                            space_params, stages_in)
from sparktpe.space_json import space_to_json
from sparktpe.stages import all_stages, check_jvm_twins, grid_stages, owner_of


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
            (self.seed, lambda v: -2 ** 63 <= v < 2 ** 63,
             "seed must be a 64-bit integer, in [-2**63, 2**63)"),
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
        # Every fit runs in the JVM: a Python-only stage must fail here, before any job.
        check_jvm_twins(self, self._tunable_stages() + [self.getEvaluator()])
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

    def _extra_stages(self):
        """Stages a grid's values or a conditional search space bring into the estimator."""
        extra = grid_stages(self.getEstimatorParamMaps()) if self.isSet(self.estimatorParamMaps) else []
        if self.isSet(self.searchSpace):
            extra += stages_in(self.getSearchSpace())
        return extra

    def _tunable_stages(self):
        """Every stage nested in the estimator, in a grid's values or in the search space."""
        return all_stages(self.getEstimator(), *self._extra_stages())


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

    def setReuseUntunedStages(self, value):
        return self._set_checked(reuseUntunedStages=value)

    def cancel(self):
        """Cancels every ``fit`` of this tuner now running, from any thread (e.g. a notebook
        button or a callback): no new trial starts and this search's Spark jobs are cancelled.
        That ``fit`` then raises :class:`sparktpe.SearchError` (its message says "cancelled")
        carrying every trial in ``trials`` and ``trialsJson``. Does nothing when no fit runs."""
        for java_tuner in list(self._running_fits()):
            java_tuner.cancel()

    def _running_fits(self):
        """The JVM tuners of this instance's running fits (what :meth:`cancel` reaches)."""
        if "_running" not in self.__dict__:
            self._running = set()
        return self._running

    def _fit(self, dataset):
        self._check_for_fit()
        spark = dataset.sparkSession
        require_jar(spark)
        sc = spark.sparkContext
        # Decides whether to log to MLflow (and opens the search's run) before any Spark job.
        with logged_search(self) as search_log:
            java_tuner, proposer = self._to_java_for_fit(sc)
            try:
                java_model = self._run_cancellable(java_tuner, dataset._jdf, proposer)
            finally:
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
        estimator = boundary.stage_from_java(java_tuner.getEstimator())
        tuner = cls()
        tuner._resetUid(java_tuner.uid())
        tuner._set(estimator=estimator,
                   evaluator=boundary.stage_from_java(java_tuner.getEvaluator()))
        boundary.params_from_java(sc, tuner, java_tuner, [estimator])
        return tuner

    def _to_java_for_fit(self, sc, propose=True):
        """The JVM tuner with this one's Params, and the Hyperopt proposer if one is needed.

        Raises
        ------
        ValueError
            When fitting, for a search space the JVM Params refuse (see
            :func:`sparktpe.space.check_space_against_jvm`); no Spark job has run.
        """
        java_estimator = self.getEstimator()._to_java()
        java_by_uid = boundary.java_stages(java_estimator)
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
                     "mlflowLogging", "reuseUntunedStages"):
            if self.isSet(getattr(self, name)):
                setter = getattr(java_tuner, "set" + name[0].upper() + name[1:])
                setter(self.getOrDefault(name))
        if self.isSet(self.estimatorParamMaps):
            java_tuner.setEstimatorParamMaps(
                boundary.grid_to_java(sc, self.getEstimatorParamMaps(), java_by_uid))
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
            else:
                space, params = grid_as_space(self.getEstimatorParamMaps()), None
            extra = self._extra_stages()
            if extra:  # the JVM resolves proposed stage uids against these
                java_extra = boundary.stages_to_java(sc, extra)
                java_tuner.setCandidateStages(java_extra)
                for java_stage in java_extra:
                    java_by_uid.update(boundary.java_stages(java_stage))
            if self.isSet(self.searchSpace):
                check_space_against_jvm(self, space, params, java_by_uid)
            proposer = HyperoptProposer(space, algorithm, self.getMaxEvals(), self.getSeed(),
                                        params=params)
            # What the space may set, so that the JVM reuses the stages it leaves alone.
            declared = (params.values() if params is not None
                        else [p for setting in self.getEstimatorParamMaps() for p in setting])
            java_tuner.setProposerParams(json.dumps(
                [{"parent": parent, "name": name}
                 for parent, name in sorted({(p.parent, p.name) for p in declared})]))
            ensure_callback_server_started(sc._gateway)
            java_tuner.setTrialProposer(proposer)
        return java_tuner, proposer

    def _run_cancellable(self, java_tuner, jdf, proposer):
        """Runs the JVM fit in a worker thread, so that Ctrl-C reaches this (main) thread.

        On Ctrl-C it cancels the JVM search (no new trial, this search's Spark jobs cancelled),
        waits for the JVM ``fit`` to return, and raises :class:`sparktpe.SearchInterrupted`
        with its trials; a second Ctrl-C stops the wait (the trials are then lost).
        """
        outcome = {}
        done = threading.Event()

        def work():
            try:
                outcome["model"] = java_tuner.fit(jdf)
            except BaseException as e:  # handed to the waiting thread
                outcome["error"] = e
            finally:
                done.set()

        running = self._running_fits()
        running.add(java_tuner)  # before the fit starts, so that cancel() cannot miss it
        InheritableThread(target=work, name="sparktpe-fit", daemon=True).start()
        progress = SearchProgress(java_tuner) if self.getShowProgress() and interactive() else None
        try:
            try:
                while not done.wait(0.5):
                    if progress is not None:
                        progress.update()
            except KeyboardInterrupt:
                try:
                    # Cancel again until the fit ends: a Ctrl-C that came before the JVM entered
                    # fit found nothing to cancel on the first call.
                    java_tuner.cancel()
                    while not done.wait(1.0):
                        java_tuner.cancel()
                except KeyboardInterrupt:
                    raise boundary.interrupted(abandoned=True) from None
                raise boundary.interrupted(outcome.get("error"), outcome.get("model")) \
                    from outcome.get("error")
        finally:
            running.discard(java_tuner)
            if progress is not None:
                progress.update()  # the end state: every finished trial and the best metric
                progress.close()
        if "error" in outcome:
            error = outcome["error"]
            proposer_error = proposer.error if proposer is not None else None
            translated = boundary.search_error(
                error, proposer_error, proposer.error_traceback if proposer is not None else None)
            if translated is error:
                raise error
            raise translated from (proposer_error if proposer_error is not None else error)
        return outcome["model"]

    def _create_model(self, sc, java_model):
        model = self._model_class._from_java(java_model, self.getEstimator(),
                                             self._tunable_stages(), self.getEvaluator())
        if self.isSet(self.searchSpace):
            model._set(searchSpace=self.getSearchSpace())  # the user's own expressions
        return model

    def copy(self, extra=None):
        """A copy with the same uid; the estimator and evaluator are copied too, as in Spark."""
        extra = dict(extra or {})
        copied = super().copy(extra)
        copied._running = set()  # a copy cancels only its own fits
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
        A grid from ``ParamGridBuilder``. Values may be stages (``ovr.classifier`` alternatives,
        a Pipeline's ``stages`` lists): they cross to the JVM as their JVM twins, and the
        model's ``getEstimatorParamMaps()`` holds your own objects. In "tpe"/"random" mode with
        no ``searchSpace``, each Param becomes an ``hp.choice`` over its grid values.
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
        Spark ``Param`` (of the estimator or any stage nested in it: Pipeline stages,
        ``OneVsRest.classifier``, a tuner's estimator) -> Hyperopt expression
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
        "pruned" and its partial metrics, never chosen as best, and TPE ranks it after every
        finished trial (a mean over the first folds is not comparable with full means).
        With ``parallelism > 1`` a trial's next fold waits for that verdict while free threads
        start new trials (asynchronous successive halving over folds, as in ASHA; see the README).
    pruningMinTrials : int, default 5
        Finished trials needed before any trial is pruned, >= 1.
    initialTrials : BayesianCrossValidatorModel, SearchError, SearchInterrupted or str, optional
        Continue an earlier search (warm start / resume): a fitted or loaded model, the error
        of a search that ended early, or their ``trialsJson``. Those trials come first in trial order (``avgMetrics``, ``trials``), TPE
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
    reuseUntunedStages : bool, default True
        Stage reuse: when the estimator is a ``Pipeline``, its leading stages that no setting
        touches (no Param of theirs in the grid or the search space, and ``stages`` not
        searched) are fitted once per fold, and their output on each fold's training and
        validation rows is cached for the search; each trial fits only the later stages. With
        no such stages, each fold's training and validation rows are cached. Same results;
        costs memory: about ``numFolds`` times the input's cached size (times the untuned
        stages' output size over the input's), released when ``fit`` ends, however it ends.
        False: every trial fits every stage, as Spark's ``CrossValidator`` does.

    Raises
    ------
    ValueError
        From the constructor, setters or ``fit``, before any Spark job: a bad Param value; a
        Param of no stage; a search space that draws non-integers for an integer Param, reuses
        a Hyperopt label, has an empty range or one the JVM Param's validator refuses; a stage
        (or evaluator) that exists only in Python, with no JVM twin.
    SearchError
        From ``fit``, when the proposer raised (the Python traceback is in the message and the
        original exception is the ``__cause__``), the search was cancelled (:meth:`cancel`),
        the final refit failed, or no trial succeeded. Its ``trials`` (a DataFrame like the
        model's) and ``trialsJson`` keep every trial: ``initialTrials=error`` resumes.
    SearchInterrupted
        Ctrl-C during ``fit`` (a ``KeyboardInterrupt``): the search is cancelled, its Spark jobs
        stopped, and the trials carried as for ``SearchError``. A second Ctrl-C stops waiting
        for the JVM to wind down (the trials are then lost).

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
                 initialTrials=None, showProgress=True, mlflowLogging=None,
                 reuseUntunedStages=True):
        super().__init__()
        self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})
        self._check_values()

    @keyword_only
    def setParams(self, *, estimator=None, estimatorParamMaps=None, evaluator=None, numFolds=3,
                  seed=None, parallelism=1, collectSubModels=False, foldCol="",
                  searchAlgorithm=None, maxEvals=None, searchSpace=None, timeout=None,
                 earlyStopRounds=None, earlyStopTolerance=0.0, targetMetric=None,
                 pruning="none", pruningMinTrials=5,
                 initialTrials=None, showProgress=True, mlflowLogging=None,
                 reuseUntunedStages=True):
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
    def _from_java(cls, java_model, estimator=None, stages=None, evaluator=None):
        """The Python model for a JVM one.

        Parameters
        ----------
        java_model : py4j JavaObject
            The JVM model, fitted or loaded.
        estimator, evaluator : optional
            The user's own instances, which the model then returns from ``getEstimator()`` /
            ``getEvaluator()`` as PySpark's models do; default (a loaded model): the JVM
            model's, wrapped.
        stages : list, optional
            Every stage a setting may name (default: those nested in ``estimator``).
        """
        from pyspark import SparkContext
        sc = SparkContext._active_spark_context
        if estimator is None:
            estimator = boundary.stage_from_java(java_model.getEstimator())
        if evaluator is None:
            evaluator = boundary.stage_from_java(java_model.getEvaluator())
        best = boundary.stage_from_java(java_model.bestModel())
        model = cls._new(best, boundary.sub_models_from_java(java_model), java_model)
        model._resetUid(java_model.uid())
        model._set(estimator=estimator, evaluator=evaluator)
        boundary.params_from_java(sc, model, java_model, stages or [estimator])
        return model

    def __init__(self, bestModel, subModels=None, javaModel=None):
        super().__init__()
        self.bestModel = bestModel
        self.subModels = subModels
        self._java_model = javaModel

    @property
    def trials(self):
        """One row per trial (see the class docstring); a DataFrame of the active session."""
        return boundary.trials_table(self._java_model.trials())

    @property
    def stopReason(self):
        """Why the search stopped, e.g. "maxEvals (40) reached"."""
        return self._java_model.stopReason()

    @property
    def trialsJson(self):
        """str: the trials in the ``initialTrials`` format (what ``initialTrials=model`` reads)."""
        return self._java_model.trialsJson()

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
        # As PySpark 4's CrossValidatorModel.copy: sub-models are copied, without `extra`.
        sub_models = None if self.subModels is None else [
            [m.copy() if m is not None else None for m in fold] for fold in self.subModels]
        copied = BayesianCrossValidatorModel(
            self.bestModel.copy(extra), list(self.avgMetrics), list(self.stdMetrics),
            sub_models, self._java_model)
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
        # As PySpark 4's TrainValidationSplitModel.copy: sub-models are copied, without `extra`.
        sub_models = None if self.subModels is None else [
            m.copy() if m is not None else None for m in self.subModels]
        copied = BayesianTrainValidationSplitModel(
            self.bestModel.copy(extra), list(self.validationMetrics), sub_models,
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
                 pruningMinTrials=5, initialTrials=None, showProgress=True, mlflowLogging=None,
                 reuseUntunedStages=True):
        super().__init__()
        self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})
        self._check_values()

    @keyword_only
    def setParams(self, *, estimator=None, estimatorParamMaps=None, evaluator=None, trainRatio=0.75,
                  seed=None, parallelism=1, collectSubModels=False, searchAlgorithm=None,
                  maxEvals=None, searchSpace=None, timeout=None, earlyStopRounds=None,
                  earlyStopTolerance=0.0, targetMetric=None, pruning="none",
                 pruningMinTrials=5, initialTrials=None, showProgress=True, mlflowLogging=None,
                 reuseUntunedStages=True):
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
