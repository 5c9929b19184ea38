"""Plots of a finished search: the metric by trial (convergence) and by each tuned Param's value.

Drawn on ``matplotlib.figure.Figure`` objects, never through ``pyplot``'s global state, so they
work headless (scripts, Spark drivers) and in notebooks (a returned Figure is displayed).
matplotlib is imported only when a plot is drawn: ``import sparktpe`` does not need it.

Examples
--------
>>> from sparktpe.plot import plot_convergence, plot_params, save_plots
>>> model = cv.fit(train)
>>> plot_convergence(model)                      # a Figure; shown when last in a notebook cell
>>> save_plots(model, "plots")                   # ('plots/convergence.png', 'plots/params.png')
>>> plot_params(model.trials, larger_is_better=False, metric_name="rmse")
"""

import math
import os
import textwrap
from numbers import Number

import numpy as np

# Columns every trials table has. Param columns sit between "trialId" and "foldMetrics"; other
# columns (stdMetric, error, fold timings, ...) are not plotted.
_REQUIRED = ("trialId", "metric", "status")
_PANEL_INCHES = (4.0, 3.2)  # width, height of one Param panel
_MAX_COLUMNS = 3            # Param panels per row
_CONVERGENCE_INCHES = (7.0, 4.0)
_LOG_DECADES = 2            # a numeric axis may be logarithmic beyond this many decades


def _figure_class():
    """``matplotlib.figure.Figure``; ImportError with the install command if matplotlib is absent."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("sparktpe.plot needs matplotlib, which is not installed: "
                          "pip install 'spark-tpe[plot]' (or pip install matplotlib)") from error
    return Figure


class _Trials:
    """A trials table read into Python lists, sorted by trialId, with the search's direction.

    Attributes
    ----------
    ids : numpy.ndarray of int, shape (n,)
    metrics : numpy.ndarray of float, shape (n,)
        NaN where the table has none (failed and cancelled trials).
    statuses : numpy.ndarray of str, shape (n,)
    params : dict of str to list
        Each tuned Param's column, ``None`` where the trial left the Param unset.
    larger_is_better : bool
    metric_name : str
    """

    def __init__(self, rows, param_names, larger_is_better, metric_name):
        rows = sorted(rows, key=lambda r: r["trialId"])
        self.ids = np.array([int(r["trialId"]) for r in rows], dtype=int)
        self.metrics = np.array([_float_or_nan(r["metric"]) for r in rows], dtype=float)
        self.statuses = np.array([str(r["status"]) for r in rows], dtype=object)
        self.params = {name: [_none_if_missing(r[name]) for r in rows] for name in param_names}
        self.larger_is_better = larger_is_better
        self.metric_name = metric_name
        finite = np.isfinite(self.metrics)
        self.ok = (self.statuses == "ok") & finite
        self.pruned = (self.statuses == "pruned") & finite
        if not self.ok.any():
            counts = ", ".join(f"{n} {s}" for s, n in zip(*np.unique(self.statuses.astype(str),
                                                                     return_counts=True)))
            raise ValueError(f"model has no trial with status 'ok' and a finite metric "
                             f"({len(rows)} trials: {counts or 'none'}); nothing to plot")

    def best_so_far(self):
        """Trial ids of the ok trials and the best ok metric up to each, shape (k,) each; then,
        if the last trial is not ok, its id and the final best, so the line spans the search."""
        metrics = self.metrics[self.ok]
        running = np.maximum.accumulate if self.larger_is_better else np.minimum.accumulate
        ids, best = self.ids[self.ok], running(metrics)
        if ids[-1] != self.ids[-1]:
            ids, best = np.append(ids, self.ids[-1]), np.append(best, best[-1])
        return ids, best

    def best_index(self):
        """Row of the best ok trial (the first of equals, as the tuner picks it)."""
        candidates = np.where(self.ok, self.metrics, -np.inf if self.larger_is_better else np.inf)
        return int(np.argmax(candidates) if self.larger_is_better else np.argmin(candidates))

    def direction(self):
        return "higher is better" if self.larger_is_better else "lower is better"


def _float_or_nan(value):
    return float("nan") if value is None else float(value)


def _none_if_missing(value):
    """None for an unset Param: null in Spark, None or NaN in pandas."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _read(model, larger_is_better, metric_name, params, with_params=True):
    """Check the arguments shared by the plots and read the trials into a :class:`_Trials`
    (with the Param columns chosen by ``params`` if ``with_params``)."""
    from pyspark.sql import DataFrame as SparkDataFrame

    from sparktpe.tuning import BayesianCrossValidatorModel, BayesianTrainValidationSplitModel

    if larger_is_better is not None and not isinstance(larger_is_better, (bool, np.bool_)):
        raise ValueError(f"larger_is_better = {larger_is_better!r} is not allowed: "
                         "True, False, or None (only with a model)")
    if isinstance(model, (BayesianCrossValidatorModel, BayesianTrainValidationSplitModel)):
        evaluator = model.getEvaluator()
        direction = bool(evaluator.isLargerBetter())
        if larger_is_better is not None and bool(larger_is_better) != direction:
            raise ValueError(f"larger_is_better = {larger_is_better} is not allowed: the model's "
                             f"evaluator says isLargerBetter() = {direction}; leave it None")
        larger_is_better = direction
        if metric_name is None and evaluator.hasParam("metricName"):
            metric_name = evaluator.getMetricName()
        table = model.trials
    elif isinstance(model, SparkDataFrame) or _is_pandas_frame(model):
        if larger_is_better is None:
            raise ValueError("larger_is_better = None is not allowed with a trials DataFrame: "
                             "say True or False (the evaluator's isLargerBetter())")
        table = model
    else:
        raise ValueError(f"model = {type(model).__module__}.{type(model).__name__} is not "
                         "allowed: a fitted BayesianCrossValidatorModel or "
                         "BayesianTrainValidationSplitModel, or the trials DataFrame (Spark or "
                         "pandas) of one with larger_is_better")
    columns = list(table.columns)
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise ValueError(f"model: the trials DataFrame has no column {', '.join(missing)} "
                         f"(it has {', '.join(columns)}); expected model.trials")
    param_names = _param_columns(columns, params) if with_params else []
    if isinstance(table, SparkDataFrame):
        rows = [row.asDict() for row in table.select(["trialId", "metric", "status"]
                                                     + param_names).collect()]
    else:
        rows = table.to_dict("records")
    return _Trials(rows, param_names, bool(larger_is_better), metric_name or "metric")


def _is_pandas_frame(value):
    # Not imported: pandas is optional, and a pandas frame is only possible if it is loaded.
    import sys
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _param_columns(columns, params):
    """The Param columns to plot: ``params`` if given, else those between trialId and foldMetrics."""
    if params is not None:
        if isinstance(params, str):
            params = [params]
        unknown = [p for p in params if p not in columns or p in _REQUIRED]
        if unknown or not params:
            raise ValueError(f"params = {list(params)} is not allowed: names of Param columns of "
                             f"the trials DataFrame ({', '.join(columns)})")
        return list(params)
    if "foldMetrics" not in columns:
        raise ValueError("model: the trials DataFrame has no foldMetrics column, which marks the "
                         "end of the Param columns; pass params=[...] to name them")
    return columns[columns.index("trialId") + 1:columns.index("foldMetrics")]


def _summary(trials):
    counts = {s: int(np.sum(trials.statuses == s)) for s in ("ok", "pruned", "failed", "cancelled")}
    text = f"{len(trials.ids)} trials: {counts['ok']} ok"
    if counts["pruned"]:
        text += f", {counts['pruned']} pruned"
    hidden = [f"{counts[s]} {s}" for s in ("failed", "cancelled") if counts[s]]
    if hidden:
        text += f", {' and '.join(hidden)} (not shown)"
    return text


def plot_convergence(model, larger_is_better=None, *, metric_name=None):
    """The metric of every trial in trial order, with the best metric so far.

    Ok trials are dots; pruned trials are crosses at their partial metric (the mean over the
    folds run before pruning) and never count as best; failed and cancelled trials have no
    metric and are left out (the title counts them). The best-so-far line steps through the
    running maximum (``larger_is_better``) or minimum of the ok trials' metrics, with a vertex at
    each ok trial (and one at the last trial, if that is not ok, to span the search); a star marks
    the best trial, the one the tuner refitted.

    Parameters
    ----------
    model : BayesianCrossValidatorModel, BayesianTrainValidationSplitModel or DataFrame
        A fitted (or loaded) sparktpe model, or its ``trials`` table as a Spark or pandas
        DataFrame with at least ``trialId``, ``metric`` and ``status`` (other columns ignored).
    larger_is_better : bool, optional
        The search's direction. Taken from a model's ``getEvaluator().isLargerBetter()``
        (leave None, or give the same value); required with a DataFrame.
    metric_name : str, optional
        Y axis label; default the evaluator's ``metricName`` for a model, else "metric".

    Returns
    -------
    matplotlib.figure.Figure
        One Axes, 7 x 4 inches. Its Line2D artists are labelled "ok trial", "pruned trial
        (partial metric)" (only if any), "best so far" and "best trial <trialId>: <metric>".

    Raises
    ------
    ValueError
        ``model`` is neither a sparktpe model nor a trials DataFrame, lacks a needed column, or
        has no ok trial with a finite metric; ``larger_is_better`` is missing (DataFrame), not a
        bool, or contradicts the model's evaluator.
    ImportError
        matplotlib is not installed (``pip install 'spark-tpe[plot]'``).
    """
    figure_class = _figure_class()
    trials = _read(model, larger_is_better, metric_name, params=None, with_params=False)
    figure = figure_class(figsize=_CONVERGENCE_INCHES, layout="constrained")
    axes = figure.subplots()
    axes.plot(trials.ids[trials.ok], trials.metrics[trials.ok], "o", color="C0", label="ok trial")
    if trials.pruned.any():
        axes.plot(trials.ids[trials.pruned], trials.metrics[trials.pruned], "x", color="C1",
                  label="pruned trial (partial metric)")
    ids, best = trials.best_so_far()
    axes.step(ids, best, where="post", color="C3", label="best so far")
    b = trials.best_index()
    axes.plot([trials.ids[b]], [trials.metrics[b]], "*", color="C3", markersize=14,
              label=f"best trial {trials.ids[b]}: {trials.metrics[b]:.6g}")
    axes.set_xlabel("trialId (trial order)")
    axes.set_ylabel(f"{trials.metric_name} ({trials.direction()})")
    axes.set_title(f"Convergence: {_summary(trials)}", fontsize="medium")
    from matplotlib.ticker import MaxNLocator
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="best")
    return figure


def _is_numeric(values):
    return all(isinstance(v, Number) and not isinstance(v, (bool, np.bool_)) for v in values)


def _x_scale(axes, values):
    """Logarithmic x when the positive values span more than two decades and their median is
    below a tenth of the largest ("symlog", linear up to the smallest positive value, when
    there are also zeros or negatives). The median test keeps a uniformly drawn Param with one
    tiny draw (e.g. 0.004 in [0, 1]) linear; log-uniform draws pass it."""
    positive = [v for v in values if v > 0]
    if len(positive) < 2 or max(positive) <= min(positive) * 10 ** _LOG_DECADES:
        return
    if np.median(values) >= max(positive) / 10:
        return
    if len(positive) == len(values):
        axes.set_xscale("log")
    else:
        axes.set_xscale("symlog", linthresh=min(positive))


def _category_positions(axes, values):
    """Map categorical values (strings, booleans, stage uids) to 0..k-1, labelled on the x axis."""
    labels = sorted({str(v) for v in values})
    position = {label: i for i, label in enumerate(labels)}
    axes.set_xticks(range(len(labels)))
    # Wrapped, not cut: stage choices are uid lists that often share a long first part.
    shown = [textwrap.fill(label, 24) for label in labels]
    long = any(len(label) > 8 for label in labels)
    if long:
        axes.set_xticklabels(shown, rotation=30, ha="right", fontsize="small")
    else:
        axes.set_xticklabels(shown)
    axes.set_xlim(-0.5, len(labels) - 0.5)
    return [position[str(v)] for v in values]


def plot_params(model, larger_is_better=None, *, metric_name=None, params=None):
    """The metric against each tuned Param's value: one panel per Param.

    Numeric Params use their values as x, on a logarithmic axis when their positive values
    span more than two decades and their median is below a tenth of the largest, as for
    log-uniform draws ("symlog" if zeros or negatives are present too). Strings,
    booleans and stage choices are categories, sorted by their text. A trial that left a Param
    unset (another branch of a conditional space) is absent from that panel. Ok trials are
    dots, pruned trials crosses at their partial metric, the best trial a star; failed and
    cancelled trials are left out.

    Parameters
    ----------
    model : BayesianCrossValidatorModel, BayesianTrainValidationSplitModel or DataFrame
        As for :func:`plot_convergence`. The Param columns are those between ``trialId`` and
        ``foldMetrics``, in table order, unless ``params`` names them.
    larger_is_better : bool, optional
        As for :func:`plot_convergence` (marks the best trial).
    metric_name : str, optional
        Y axis label; default the evaluator's ``metricName`` for a model, else "metric".
    params : list of str, optional
        The Param columns to plot, in panel order; default all tuned Params.

    Returns
    -------
    matplotlib.figure.Figure
        Panels of 4 x 3.2 inches, up to 3 per row, sharing the y axis; the figure's Axes are the
        panels in Param order, each with its Param's name as x label. In each panel the Line2D
        labelled "ok trial" holds the ok trials' (x, metric) in trialId order (x: the value, or
        the category's position for categorical Params, whose tick labels name the values).

    Raises
    ------
    ValueError
        As for :func:`plot_convergence`; also when there is no Param column to plot or
        ``params`` names a column that is not one.
    ImportError
        matplotlib is not installed (``pip install 'spark-tpe[plot]'``).
    """
    figure_class = _figure_class()
    trials = _read(model, larger_is_better, metric_name, params)
    names = list(trials.params)
    if not names:
        raise ValueError("model: the trials have no tuned Param column to plot")
    columns = min(_MAX_COLUMNS, len(names))
    rows = math.ceil(len(names) / columns)
    figure = figure_class(figsize=(_PANEL_INCHES[0] * columns, _PANEL_INCHES[1] * rows),
                          layout="constrained")
    panels = figure.subplots(rows, columns, squeeze=False, sharey=True).ravel()
    for extra in panels[len(names):]:
        extra.remove()
    best = trials.best_index()
    for i, (name, panel) in enumerate(zip(names, panels)):
        values = trials.params[name]
        shown = np.array([v is not None for v in values]) & (trials.ok | trials.pruned)
        present = [v for v, s in zip(values, shown) if s]
        if _is_numeric(present):
            xs = np.array([v if s else np.nan for v, s in zip(values, shown)], dtype=float)
            _x_scale(panel, present)
        else:
            xs = np.full(len(values), np.nan)
            xs[shown] = _category_positions(panel, present)
        ok = shown & trials.ok
        panel.plot(xs[ok], trials.metrics[ok], "o", color="C0", alpha=0.8, label="ok trial")
        pruned = shown & trials.pruned
        if pruned.any():
            panel.plot(xs[pruned], trials.metrics[pruned], "x", color="C1",
                       label="pruned trial (partial metric)")
        if shown[best]:
            panel.plot([xs[best]], [trials.metrics[best]], "*", color="C3", markersize=14,
                       label=f"best trial {trials.ids[best]}")
        if not shown.any():
            panel.text(0.5, 0.5, "no plotted trial sets this Param", ha="center",
                       va="center", transform=panel.transAxes, fontsize="small")
        panel.set_xlabel(name)
        if i % columns == 0:
            panel.set_ylabel(trials.metric_name)
        panel.grid(alpha=0.3)
    panels[0].legend(fontsize="small", loc="best")
    figure.suptitle(f"{trials.metric_name} by Param value ({trials.direction()}; "
                    f"{_summary(trials)})", fontsize="medium")
    return figure


def save_plots(model, directory, larger_is_better=None, *, dpi=100, metric_name=None):
    """Write ``convergence.png`` and ``params.png`` for a search into ``directory``.

    Parameters
    ----------
    model : BayesianCrossValidatorModel, BayesianTrainValidationSplitModel or DataFrame
        As for :func:`plot_convergence`.
    directory : str or os.PathLike
        Created (with parents) if missing; existing files of those names are replaced.
    larger_is_better : bool, optional
        As for :func:`plot_convergence`; required with a DataFrame.
    dpi : int, default 100
        Pixels per inch: convergence.png is 7 x 4 inches (700 x 400 pixels at 100 dpi);
        params.png 4 x 3.2 inches per panel, up to 3 panels per row.
    metric_name : str, optional
        Y axis label, as for :func:`plot_convergence`.

    Returns
    -------
    tuple of str
        The paths of ``convergence.png`` and ``params.png``, in that order.

    Raises
    ------
    ValueError
        As for :func:`plot_convergence` and :func:`plot_params`; ``directory`` not a path;
        ``dpi`` not a positive number.
    ImportError
        matplotlib is not installed (``pip install 'spark-tpe[plot]'``).
    """
    if not isinstance(directory, (str, os.PathLike)) or str(directory) == "":
        raise ValueError(f"directory = {directory!r} is not allowed: a non-empty path (str or "
                         "os.PathLike)")
    if isinstance(dpi, bool) or not isinstance(dpi, Number) or not dpi > 0:
        raise ValueError(f"dpi = {dpi!r} is not allowed: a positive number")
    convergence = plot_convergence(model, larger_is_better, metric_name=metric_name)
    params = plot_params(model, larger_is_better, metric_name=metric_name)
    os.makedirs(directory, exist_ok=True)
    paths = (os.path.join(os.fspath(directory), "convergence.png"),
             os.path.join(os.fspath(directory), "params.png"))
    for figure, path in zip((convergence, params), paths):
        figure.savefig(path, dpi=dpi)
    return paths
