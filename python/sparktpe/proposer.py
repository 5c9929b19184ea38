"""Hyperopt behind the JVM's ``sparktpe.TrialProposer`` interface, called back through py4j.

The JVM asks for one trial at a time and reports the trials that finished since its last call.
This side keeps a ``hyperopt.Trials`` in step with it: a proposed trial stays in state NEW
(pending) until reported, then becomes DONE with its loss, or DONE with no loss when it failed.
TPE (``hyperopt.tpe.suggest``) reads missing losses as +inf, so pending trials push concurrent
proposals apart and failed settings count as a bad region.
"""

import functools
import json
import threading
import traceback

import numpy as np
from hyperopt import STATUS_FAIL, STATUS_OK, Trials, rand, space_eval, tpe
from hyperopt.base import JOB_STATE_DONE, Domain

from sparktpe.space import encode_setting, param_key, vals_json


DUPLICATE_RETRIES = 5  # new proposals asked for before falling back to one random draw


def tpe_startup_trials(max_evals):
    """Random trials before TPE models the history: Hyperopt's 20, capped at a quarter of
    ``max_evals`` (at least 2) so that small budgets still get adaptive proposals."""
    return max(2, min(20, max_evals // 4))


class HyperoptProposer:
    """Proposes trials with Hyperopt's TPE (``algorithm="tpe"``) or random sampling ("random").

    Parameters
    ----------
    space : dict
        Spark Param -> Hyperopt expression.
    algorithm : str
        "tpe" or "random".
    max_evals : int
        The trial budget; sets TPE's startup trials (see :func:`tpe_startup_trials`).
    seed : int
        Seeds a ``numpy.random.Generator`` that draws each call's seed, as ``hyperopt.fmin`` does.
    on_trial : callable, optional
        Called with each finished trial's report dict (used for progress).
    """

    def __init__(self, space, algorithm, max_evals, seed, on_trial=None):
        self._params = {param_key(p): p for p in space}
        self._space = {param_key(p): expr for p, expr in space.items()}
        self._domain = Domain(lambda _: 0.0, self._space)
        self._trials = Trials()
        self._docs = {}
        self._proposed = set()
        self._rng = np.random.default_rng(seed)
        if algorithm == "tpe":
            self._suggest = functools.partial(
                tpe.suggest, n_startup_jobs=tpe_startup_trials(max_evals), verbose=False)
        else:
            self._suggest = rand.suggest
        self._on_trial = on_trial
        self._lock = threading.Lock()
        self.error = None
        self.error_traceback = None

    def propose(self, request_json):
        """The JVM's call: JSON request in, JSON proposal out (see ``sparktpe.TrialProposer``)."""
        try:
            with self._lock:
                request = json.loads(request_json)
                for report in request["finished"]:
                    self._finish(report)
                return json.dumps(self._next(int(request["trialId"])))
        except BaseException as e:
            # Kept so that fit() can raise the original exception with its Python traceback.
            if self.error is None:
                self.error = e
                self.error_traceback = traceback.format_exc()
            raise

    def _finish(self, report):
        doc = self._docs[int(report["trialId"])]
        doc["state"] = JOB_STATE_DONE
        if report["status"] == "ok":
            doc["result"] = {"status": STATUS_OK, "loss": float(report["loss"])}
        else:
            doc["result"] = {"status": STATUS_FAIL}
        self._trials.refresh()
        if self._on_trial is not None:
            self._on_trial(report)

    def _next(self, trial_id):
        # A setting already evaluated or in flight would waste a fit (TPE repeats itself on small
        # discrete spaces such as a grid): ask again, then fall back to a random draw, and
        # record the fallback in the trial's vals. A space with nothing new left is exhausted.
        for attempt in range(DUPLICATE_RETRIES + 2):
            suggest = self._suggest if attempt <= DUPLICATE_RETRIES else rand.suggest
            docs = suggest([trial_id], self._domain, self._trials, int(self._rng.integers(2 ** 31 - 1)))
            if not docs:
                return {"exhausted": True}
            vals = docs[0]["misc"]["vals"]
            point = space_eval(self._space, {k: v[0] for k, v in vals.items() if len(v) > 0})
            settings = [encode_setting(self._params[key], value) for key, value in point.items()]
            key = json.dumps(settings, sort_keys=True)
            if key not in self._proposed:
                break
        else:
            return {"exhausted": True}
        self._proposed.add(key)
        self._trials.insert_trial_docs(docs)
        self._trials.refresh()
        self._docs[trial_id] = next(d for d in self._trials.trials if d["tid"] == trial_id)
        recorded = vals_json(vals)
        if attempt > DUPLICATE_RETRIES:
            recorded["sparktpe_fallback"] = "random"
        return {"params": settings, "vals": recorded}

    class Java:
        implements = ["sparktpe.TrialProposer"]
