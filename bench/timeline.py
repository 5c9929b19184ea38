"""When each fold of a sparktpe search ran, from the scheduler's own timestamps.

A fitted sparktpe model's ``trials`` DataFrame has, per trial, ``foldStartTimes`` and
``foldEndTimes``: arrays of epoch seconds at which each fold's fit + evaluation started and ended,
NaN for folds that did not run. From them: how busy the ``parallelism`` slots were, and how much of
a search's time is the tuner's own work (proposals, bookkeeping) rather than fits.

Models of a sparktpe build without those columns give None, and the benchmarks report null.
"""

import math
from dataclasses import dataclass

START, END = "foldStartTimes", "foldEndTimes"


@dataclass(frozen=True)
class FoldRun:
    """One fold that ran: its trial, fold number, and start/end in epoch seconds."""
    trial: int
    fold: int
    start: float
    end: float


def fold_runs(model):
    """Every fold that ran, in (trial, fold) order.

    Parameters
    ----------
    model : sparktpe.BayesianCrossValidatorModel or BayesianTrainValidationSplitModel

    Returns
    -------
    list of FoldRun, or None
        None when the trials table has no ``foldStartTimes``/``foldEndTimes`` columns.
    """
    trials = model.trials
    if START not in trials.columns or END not in trials.columns:
        return None
    runs = []
    for row in trials.select("trialId", START, END).orderBy("trialId").collect():
        for fold, (start, end) in enumerate(zip(row[START] or [], row[END] or [])):
            if _present(start) and _present(end):
                runs.append(FoldRun(row.trialId, fold, start, end))
    return runs


def _present(x):
    return x is not None and not math.isnan(x)


def busy_share(runs, parallelism):
    """How much of the search window all ``parallelism`` slots were running a fold.

    The window is [first fold start, last fold end]. Returns a dict (seconds):
    ``window_seconds``; ``busy_seconds``, the time within it with ``parallelism`` (or more)
    folds running; ``busy_share`` = busy / window; ``fold_seconds``, the sum of fold durations;
    ``mean_running`` = fold_seconds / window, the average number of folds running. All values
    are None when ``runs`` is None or empty.
    """
    keys = ("window_seconds", "busy_seconds", "busy_share", "fold_seconds", "mean_running")
    if not runs:
        return dict.fromkeys(keys)
    # At equal times an end is counted before a start: a slot handed straight on is not "over-busy".
    events = sorted([(r.start, 1) for r in runs] + [(r.end, -1) for r in runs])
    first, last = events[0][0], events[-1][0]
    busy, running, previous = 0.0, 0, first
    for time, change in events:
        if running >= parallelism:
            busy += time - previous
        running += change
        previous = time
    window = last - first
    fold_seconds = sum(r.end - r.start for r in runs)
    return {"window_seconds": window, "busy_seconds": busy,
            "busy_share": busy / window if window > 0 else None,
            "fold_seconds": fold_seconds,
            "mean_running": fold_seconds / window if window > 0 else None}


def overhead_per_trial(runs, trials):
    """Seconds per trial the search window spent outside folds (meaningful at parallelism 1).

    (window - sum of fold durations) / ``trials``: the proposal round trips, the scheduler's
    bookkeeping and the time between one fold's end and the next one's start. None when
    ``runs`` is None or empty.
    """
    share = busy_share(runs, 1)
    if share["window_seconds"] is None:
        return None
    return (share["window_seconds"] - share["fold_seconds"]) / trials


def trial_end_times(runs):
    """trialId -> epoch seconds at which its last fold ended ({} when ``runs`` is None)."""
    ends = {}
    for r in runs or []:
        ends[r.trial] = max(ends.get(r.trial, r.end), r.end)
    return ends
