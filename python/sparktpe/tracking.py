"""MLflow logging of a search: one parent run for the search, one child run per trial.

``mlflow`` is optional (``pip install spark-tpe[mlflow]`` installs ``mlflow-skinny``); this module
imports it only when a search is to be logged, so sparktpe works without it.

Layout of what is logged (keys are those of the ``trials`` DataFrame where one exists):

* parent run (named after the tuner's uid; nested under the active run if there is one):
  params: the tuner's simple Params (``searchAlgorithm``, ``maxEvals``, ``parallelism``,
  ``numFolds`` or ``trainRatio``, ``seed``, ...), ``estimator`` and ``evaluator`` (class names),
  ``metricName``, and ``best_<Param>`` for the best trial's settings; metrics: the best trial's
  metric (named after the evaluator's ``metricName``) and ``trials_<status>`` counts; tags:
  ``stopReason``, ``bestTrialId``; artifacts: ``trials.json`` (the trials table, NaN as null)
  and ``best_model`` (``mlflow.spark.log_model`` of ``bestModel``). Its status is FINISHED, or
  FAILED when ``fit`` raised (KILLED on Ctrl-C).
* one child run per trial, ``trial-<trialId>``: params: the trial's settings; metrics:
  ``<metricName>`` (mean over folds), ``<metricName>_std``, ``<metricName>_fold<k>`` (k from 0)
  and ``fitSeconds``; tags: ``trialId``, ``status``, ``error``. Run status: FINISHED for "ok"
  and "pruned" trials, FAILED for "failed", KILLED for "cancelled". Start and end times are
  those of the trial's first fold start and last fold end; NaN (unknown) values are not logged.
"""

import contextlib
import math
import sys
import time
import warnings

from sparktpe.errors import SearchError, SearchInterrupted

# Columns of the trials table that are not a tuned Param.
_RESULT_COLUMNS = frozenset({"trialId", "foldMetrics", "metric", "stdMetric", "status", "error",
                             "fitSeconds", "foldStartTimes", "foldEndTimes"})
_RUN_STATUS = {"ok": "FINISHED", "pruned": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}
_STATUSES = ("ok", "pruned", "failed", "cancelled")
# Tuner Params logged on the parent run when defined (set or defaulted).
_TUNER_PARAMS = ("searchAlgorithm", "maxEvals", "parallelism", "numFolds", "foldCol",
                 "trainRatio", "seed", "collectSubModels", "timeout", "earlyStopRounds",
                 "earlyStopTolerance", "targetMetric", "pruning", "pruningMinTrials")
_MAX_TAG_CHARS = 5000  # below MLflow's tag value limit (5000 in old stores, 8000 now)


def wants_logging(tuner):
    """Whether ``tuner.fit`` logs to MLflow; called before any Spark job.

    Parameters
    ----------
    tuner : sparktpe tuner
        Its ``mlflowLogging`` Param decides: unset, log when ``mlflow`` has been imported and
        ``mlflow.active_run()`` is not None (a user with an active run has imported it, so an
        installed but unused ``mlflow`` is never imported); True, always; False, never.

    Returns
    -------
    bool

    Raises
    ------
    ImportError
        When ``mlflowLogging`` is True and the ``mlflow`` package cannot be imported.
    """
    if tuner.isSet(tuner.mlflowLogging):
        if not tuner.getMlflowLogging():
            return False
        try:
            import mlflow  # noqa: F401
        except ImportError as e:
            raise ImportError(f"{tuner.uid}: mlflowLogging = True needs the mlflow package, which "
                              "is not installed: pip install spark-tpe[mlflow]") from e
        return True
    mlflow = sys.modules.get("mlflow")
    return mlflow is not None and mlflow.active_run() is not None


@contextlib.contextmanager
def logged_search(tuner):
    """Wraps a tuner's fit: opens the parent run when the search is to be logged.

    Parameters
    ----------
    tuner : sparktpe tuner
        The tuner being fitted; its Params are logged on entry.

    Yields
    ------
    SearchLog or None
        None when the search is not logged (see :func:`wants_logging`); else call
        ``finished(model)`` with the fitted model.

    Raises
    ------
    ImportError
        As :func:`wants_logging`, on entry, before any Spark job.
    Exception
        Whatever the fit raised, re-raised after the parent run was ended FAILED (KILLED for
        ``KeyboardInterrupt``); for a :class:`sparktpe.SearchError` its ``trials`` are logged as
        child runs first. Errors of MLflow itself after the search only warn, so that a fitted
        model is never lost to a logging problem.
    """
    if not wants_logging(tuner):
        yield None
        return
    import mlflow
    active = mlflow.active_run()
    run = mlflow.start_run(run_name=tuner.uid, nested=active is not None,
                           experiment_id=active.info.experiment_id if active else None)
    status = "FAILED"
    try:
        log = SearchLog(tuner, run.info.run_id, run.info.experiment_id)
        log.started()
        try:
            yield log
        except BaseException as e:
            status = "KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED"
            log.guarded(log.failed, e)
            raise
        status = "FINISHED"
    finally:
        still_active = mlflow.active_run()
        if still_active is not None and still_active.info.run_id == run.info.run_id:
            mlflow.end_run(status)
        else:  # someone ended or replaced it on the stack: end ours by id
            mlflow.MlflowClient().set_terminated(run.info.run_id, status)


class SearchLog:
    """Writes one search to MLflow: the parent run ``run_id`` (active) and its child runs.

    Parameters
    ----------
    tuner : sparktpe tuner
        Supplies the Params and the evaluator (metric name and direction).
    run_id : str
        The parent run, the active MLflow run while the search runs.
    experiment_id : str
        The parent's experiment, where the child runs go too.
    """

    def __init__(self, tuner, run_id, experiment_id):
        from mlflow import MlflowClient
        self.tuner = tuner
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.client = MlflowClient()
        evaluator = tuner.getEvaluator()
        self.metric_name = (evaluator.getMetricName() if hasattr(evaluator, "getMetricName")
                            else "metric")

    def started(self):
        """Logs the tuner's Params on the parent run (before the search)."""
        from mlflow.entities import Param
        tuner = self.tuner
        values = {"estimator": _class_name(tuner.getEstimator()),
                  "evaluator": _class_name(tuner.getEvaluator()),
                  "metricName": self.metric_name}
        for name in _TUNER_PARAMS:
            if tuner.hasParam(name) and tuner.isDefined(tuner.getParam(name)):
                values[name] = tuner.getOrDefault(name)
        values["searchAlgorithm"] = tuner.getSearchAlgorithm()
        values["maxEvals"] = tuner.getMaxEvals()
        params = [Param(k, str(v)) for k, v in values.items() if v != ""]
        self.client.log_batch(self.run_id, params=params)

    def guarded(self, log, *args):
        """Runs ``log(*args)``; an MLflow error warns and is tagged on the parent run instead of
        raising, so that the search's own outcome (a model or its error) reaches the caller."""
        try:
            log(*args)
        except Exception as e:  # noqa: BLE001 - any logging failure must not hide the result
            warnings.warn(f"sparktpe: logging the search to MLflow run {self.run_id} failed: "
                          f"{type(e).__name__}: {e}", RuntimeWarning, stacklevel=3)
            with contextlib.suppress(Exception):
                self.client.set_tag(self.run_id, "loggingError", str(e)[:_MAX_TAG_CHARS])

    def finished(self, model):
        """Logs a fitted model's trials (child runs), summary and artifacts on the parent run.

        Parameters
        ----------
        model : BayesianCrossValidatorModel or BayesianTrainValidationSplitModel
        """
        self.guarded(self._finished, model)

    def _finished(self, model):
        from mlflow.entities import Metric, Param, RunTag
        rows = [row.asDict(recursive=True) for row in model.trials.orderBy("trialId").collect()]
        for row in rows:
            self._log_trial(row, settings={k: v for k, v in row.items()
                                           if k not in _RESULT_COLUMNS and v is not None})
        now = _millis(time.time())
        counts = {s: sum(r["status"] == s for r in rows) for s in _STATUSES}
        metrics = [Metric(f"trials_{s}", n, now, 0) for s, n in counts.items()]
        tags = [RunTag("stopReason", str(model.stopReason)[:_MAX_TAG_CHARS])]
        # A fitted model always has a best trial (else fit raised); the JVM chose it.
        best = next(r for r in rows if r["trialId"] == model.bestTrialId)
        metrics.append(Metric(self.metric_name, best["metric"], now, 0))
        tags.append(RunTag("bestTrialId", str(best["trialId"])))
        params = [Param(f"best_{k}", str(v)) for k, v in best.items()
                  if k not in _RESULT_COLUMNS and v is not None]
        self.client.log_batch(self.run_id, metrics=metrics, params=params, tags=tags)
        self.client.log_dict(self.run_id, [_json_safe(r) for r in rows], "trials.json")
        self._log_best_model(model.bestModel)

    @staticmethod
    def _log_best_model(best_model):
        """``mlflow.spark.log_model`` (works with mlflow-skinny). The requirement is given, as
        MLflow would otherwise infer it by loading the model in a new Python and Spark process
        (about a minute); the best model needs only pyspark, not sparktpe."""
        import mlflow.spark
        import pyspark
        mlflow.spark.log_model(best_model, "best_model",
                               pip_requirements=[f"pyspark=={pyspark.__version__}"])

    def failed(self, error):
        """Tags the parent run with the error ``fit`` raised and, for a :class:`SearchError`
        or :class:`SearchInterrupted`, logs the trials it carries as child runs."""
        self.client.set_tag(self.run_id, "error",
                            f"{type(error).__name__}: {error}"[:_MAX_TAG_CHARS])
        table = getattr(error, "trials", None) if isinstance(
            error, (SearchError, SearchInterrupted)) else None
        rows = [] if table is None else table.orderBy("trialId").collect()
        for row in rows:
            self._log_trial(row.asDict(recursive=True), settings={})

    def _log_trial(self, row, settings):
        """One child run, written with one create, one batch and one terminate call."""
        from mlflow.entities import Metric, Param, RunTag
        start, end = _trial_times(row)
        child = self.client.create_run(self.experiment_id, start_time=start,
                                       tags={"mlflow.parentRunId": self.run_id},
                                       run_name=f"trial-{row['trialId']}")
        stamp = end if end is not None else _millis(time.time())
        values = {self.metric_name: row.get("metric"),
                  f"{self.metric_name}_std": row.get("stdMetric"),
                  "fitSeconds": row.get("fitSeconds")}
        for k, v in enumerate(row.get("foldMetrics") or []):
            values[f"{self.metric_name}_fold{k}"] = v
        metrics = [Metric(k, float(v), stamp, 0) for k, v in values.items() if not _missing(v)]
        tags = [RunTag("trialId", str(row["trialId"])), RunTag("status", str(row["status"]))]
        if row.get("error"):
            tags.append(RunTag("error", row["error"][:_MAX_TAG_CHARS]))
        params = [Param(k, str(v)) for k, v in settings.items()]
        self.client.log_batch(child.info.run_id, metrics=metrics, params=params, tags=tags)
        self.client.set_terminated(child.info.run_id, _RUN_STATUS.get(row["status"], "FINISHED"),
                                   end_time=end)


def _trial_times(row):
    """(start, end) in epoch milliseconds: the first fold's start and the last fold's end; when
    the table has no fold times (older jar, or trials carried over by ``initialTrials``), the
    end is unknown (None: MLflow uses the logging time) and the start is end - fitSeconds."""
    starts = [t for t in row.get("foldStartTimes") or [] if not _missing(t)]
    ends = [t for t in row.get("foldEndTimes") or [] if not _missing(t)]
    end = _millis(max(ends)) if ends else None
    if starts:
        return _millis(min(starts)), end
    seconds = row.get("fitSeconds")
    if end is not None and not _missing(seconds):
        return end - _millis(seconds), end
    return None, end


def _millis(seconds):
    return int(round(seconds * 1000))


def _missing(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


def _json_safe(value):
    """NaN becomes None (null), so that the artifact is standard JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return None if _missing(value) else value


def _class_name(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"
