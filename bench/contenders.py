"""The tuners the benchmarks compare, each timed the same way and summarised as the same dict.

Every ``fit_*`` function fits one tuner on a cached DataFrame and returns a plain dict:

* ``seconds``: wall seconds of the whole ``fit`` (``fmin``), final refit included;
* ``avgMetrics``: the mean fold metric per setting, in the order of the grid (trial order);
* ``trials``: one dict per setting evaluated, in the order they finished: ``metric`` (NaN for a
  trial without one), ``status``, ``folds`` (fold fits run), ``end`` (seconds from the start of
  ``fit`` until its last fold ended; None where the tuner gives no timestamps);
* ``fits``: model fits run, fold fits plus refits on all rows.

Spark's Scala ``CrossValidator`` is the JVM class itself, built from PySpark's with
``_to_java()`` and fitted on ``df._jdf``: no Python in its loop. All tuners get ``foldCol`` so
they split alike (PySpark's Python ``CrossValidator`` splits with ``rand`` columns otherwise).
"""

import math
import time

import numpy as np
from hyperopt import STATUS_OK, Trials, fmin, tpe
from pyspark.ml.tuning import CrossValidator

import report
import timeline
from sparktpe import BayesianCrossValidator

FOLDS = 3  # the `fold` column's values are 0..2
SEED = 2013  # folds come from the `fold` column; the seed only has to be the same for all


def cv_params(estimator, grid, evaluator, parallelism):
    """Keywords shared by Spark's CrossValidator and sparktpe's grid mode."""
    return dict(estimator=estimator, estimatorParamMaps=grid, evaluator=evaluator,
                numFolds=FOLDS, foldCol="fold", seed=SEED, parallelism=parallelism)


def fit_scala_cv(estimator, grid, evaluator, parallelism, data):
    """Spark's JVM ``CrossValidator`` over ``grid``: folds, then one refit of the best setting."""
    java_cv = CrossValidator(**cv_params(estimator, grid, evaluator, parallelism))._to_java()
    started = time.perf_counter()
    java_model = java_cv.fit(data._jdf)
    seconds = time.perf_counter() - started
    metrics = list(java_model.avgMetrics())
    return _untimed(seconds, metrics)


def fit_pyspark_cv(estimator, grid, evaluator, parallelism, data):
    """PySpark's Python ``CrossValidator`` over ``grid`` (the loop runs in Python threads)."""
    cv = CrossValidator(**cv_params(estimator, grid, evaluator, parallelism))
    started = time.perf_counter()
    model = cv.fit(data)
    return _untimed(time.perf_counter() - started, list(model.avgMetrics))


def _untimed(seconds, metrics):
    """Spark's tuners give no per-trial times: every trial "ends" with the fit."""
    return {"seconds": seconds, "avgMetrics": metrics, "fits": FOLDS * len(metrics) + 1,
            "trials": [{"metric": m, "status": "ok", "folds": FOLDS, "end": None} for m in metrics]}


def sparktpe_grid(estimator, grid, evaluator, parallelism, **params):
    """sparktpe's ``BayesianCrossValidator`` in grid mode, with any further Params."""
    return BayesianCrossValidator(**cv_params(estimator, grid, evaluator, parallelism), **params)


def sparktpe_search(estimator, space, evaluator, parallelism, algorithm, max_evals, seed, **params):
    """sparktpe's ``BayesianCrossValidator`` searching ``space`` (``tpe`` or ``random``)."""
    return BayesianCrossValidator(estimator=estimator, evaluator=evaluator, searchSpace=space,
                                  searchAlgorithm=algorithm, maxEvals=max_evals, numFolds=FOLDS,
                                  foldCol="fold", parallelism=parallelism, seed=seed, **params)


def has_param(tuner, name):
    """Whether this sparktpe build has the Param ``name`` (e.g. ``reuseUntunedStages``)."""
    return tuner.hasParam(name)


def fit_sparktpe(tuner, data):
    """Fits a sparktpe tuner; trials in the order their last fold ended (scheduler timestamps)."""
    report.without_progress_bar(tuner)
    wall_started = time.time()
    started = time.perf_counter()
    model = tuner.fit(data)
    seconds = time.perf_counter() - started
    rows = model.trials.select("trialId", "metric", "status", "foldMetrics").orderBy("trialId").collect()
    ends = timeline.trial_end_times(timeline.fold_runs(model))
    trials = []
    for r in rows:
        end = ends.get(r.trialId)
        trials.append({"trialId": r.trialId, "status": r.status,
                       "metric": r.metric if r.metric is not None else math.nan,
                       "folds": sum(1 for m in (r.foldMetrics or []) if m == m),
                       "end": None if end is None else end - wall_started})
    trials.sort(key=lambda t: (t["end"] is None, t["end"] or 0, t["trialId"]))
    return {"seconds": seconds, "avgMetrics": list(model.avgMetrics),
            "fits": sum(t["folds"] for t in trials) + 1, "trials": trials,
            "stopReason": model.stopReason}


def fit_fmin_cv(estimator, space, evaluator, max_evals, seed, data):
    """Hyperopt's ``fmin(tpe.suggest, trials=Trials())`` around a one-setting PySpark
    ``CrossValidator``: the loop users run today. Every call fits the folds one after another,
    then refits the setting on all rows (``CrossValidator.fit`` always does)."""
    by_name = {param.name: param for param in space}
    text_space = {param.name: expr for param, expr in space.items()}  # Hyperopt wants text keys
    started = time.perf_counter()
    trials = []

    def objective(setting):
        grid = [{by_name[name]: _plain(value) for name, value in setting.items()}]
        cv = CrossValidator(estimator=estimator, estimatorParamMaps=grid, evaluator=evaluator,
                            numFolds=FOLDS, foldCol="fold", seed=SEED)
        metric = cv.fit(data).avgMetrics[0]
        trials.append({"metric": metric, "status": "ok", "folds": FOLDS,
                       "end": time.perf_counter() - started})
        loss = -metric if evaluator.isLargerBetter() else metric
        return {"loss": loss, "status": STATUS_OK}

    fmin(objective, text_space, algo=tpe.suggest, max_evals=max_evals, trials=Trials(),
         rstate=np.random.default_rng(seed), show_progressbar=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "avgMetrics": [t["metric"] for t in trials],
            "fits": (FOLDS + 1) * len(trials), "trials": trials}


def _plain(value):
    """A Hyperopt draw as the Python value a Spark Param takes (ints stay ints)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def max_gap(a, b):
    """Largest absolute difference between two avgMetrics lists of the same grid."""
    return max(abs(x - y) for x, y in zip(a, b))
