"""Hyperopt behind the JVM's ``sparktpe.TrialProposer`` interface, called back through py4j.

The JVM asks for one trial at a time and reports the trials that finished since its last call.
This side keeps a ``hyperopt.Trials`` in step with it: a proposed trial stays in state NEW
(pending) until reported, then becomes DONE with its loss, or DONE with no loss when it failed.
TPE (``hyperopt.tpe.suggest``) reads missing losses as +inf, so pending trials push concurrent
proposals apart and failed settings count as a bad region; pruned trials get +inf too (their
partial mean is not comparable with full means). Trials it never proposed (those of
``initialTrials``) arrive with their settings and are added to the history as DONE.
"""

import functools
import json
import math
import threading
import traceback

import numpy as np
from hyperopt import STATUS_FAIL, STATUS_OK, Trials, rand, space_eval, tpe
from hyperopt.base import JOB_STATE_DONE, STATUS_NEW, Domain
from hyperopt.pyll.base import Apply, Literal

from sparktpe.finite import finite_settings
from sparktpe.space import encode_setting, flatten, param_key, space_key, vals_json


DUPLICATE_RETRIES = 5  # new proposals asked for before falling back to random draws
RANDOM_DRAWS = 200  # random draws that must all repeat a setting before the space is exhausted


def tpe_startup_trials(max_evals):
    """Random trials before TPE models the history: Hyperopt's 20, capped at a quarter of
    ``max_evals`` (at least 2) so that small budgets still get adaptive proposals."""
    return max(2, min(20, max_evals // 4))


class HyperoptProposer:
    """Proposes trials with Hyperopt's TPE (``algorithm="tpe"``) or random sampling ("random").

    Parameters
    ----------
    space : dict
        Spark Param (or a label of a choice between sub-spaces) -> Hyperopt expression.
    algorithm : str
        "tpe" or "random".
    max_evals : int
        The trial budget; sets TPE's startup trials (see :func:`tpe_startup_trials`).
    seed : int
        Any 64-bit integer (negative too: the tuners' default seeds may be); seeds a
        ``numpy.random.Generator`` that draws each call's seed, as ``hyperopt.fmin`` does.
    params : dict, optional
        ``"<uid>.<name>"`` -> Param for every Param the space may set (see
        :func:`sparktpe.space.space_params`); default: the space's own keys.
    on_trial : callable, optional
        Called with each finished trial's report dict (used for progress).
    """

    def __init__(self, space, algorithm, max_evals, seed, params=None, on_trial=None):
        self._params = params if params is not None else {param_key(p): p for p in space}
        self._space = {space_key(k): expr for k, expr in space.items()}
        self._domain = Domain(lambda _: 0.0, self._space)
        self._trials = Trials()
        self._docs = {}
        self._proposed = set()
        # numpy wants a non-negative seed: a 64-bit seed's two's-complement bits are one.
        self._seed = int(seed) % 2 ** 64
        self._rng = np.random.default_rng(self._seed)
        self._finite = None  # every setting of a finite space, listed on first need
        self._finite_listed = False  # whether the space turned out finite
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
        if int(report["trialId"]) not in self._docs:
            self._add_earlier_trial(report)
        doc = self._docs[int(report["trialId"])]
        doc["state"] = JOB_STATE_DONE
        if report["status"] == "ok":
            doc["result"] = {"status": STATUS_OK, "loss": float(report["loss"])}
        elif report["status"] == "pruned":
            # A pruned trial's loss is a mean over its first folds only, which can be easier
            # than the rest (on the benchmark, fold 0's AUC is 0.011 above the 3-fold mean), so
            # it would rank among full means as better than it is and pull TPE towards a region
            # the median rule judged poor. It ranks after every finished trial instead, as in
            # Optuna's TPE (pruned trials go to the "above" group); its partial loss is kept.
            doc["result"] = {"status": STATUS_OK, "loss": math.inf,
                             "sparktpe_partial_loss": float(report["loss"])}
        else:
            doc["result"] = {"status": STATUS_FAIL}
        self._trials.refresh()
        if self._on_trial is not None:
            self._on_trial(report)

    def _add_earlier_trial(self, report):
        """Adds a trial of an earlier search to the history, with Hyperopt ``vals`` for this
        space: its own when they fit the space's labels, else read back from its settings."""
        tid = int(report["trialId"])
        labels = list(self._domain.params)
        vals = report.get("vals") or {}
        if not (vals and set(vals) <= set(labels)):
            vals = self._vals_from_settings(tid, report.get("params") or [])
        vals = {label: list(vals.get(label, [])) for label in labels}
        docs = self._trial_docs(tid, vals, STATUS_FAIL)
        self._trials.insert_trial_docs(docs)
        self._trials.refresh()
        self._docs[tid] = next(d for d in self._trials.trials if d["tid"] == tid)
        self._proposed.add(_setting_key(report.get("params") or []))
        # One seed draw per earlier trial, as if this proposer had made it: with the same seed a
        # continued search then proposes what one uninterrupted search would have.
        self._rng.integers(2 ** 31 - 1)

    def _vals_from_settings(self, tid, settings):
        given = {(s["parent"], s["name"]): s["value"] for s in settings}
        vals = {}
        for key, expr in self._space.items():
            if key not in self._params:
                raise ValueError(f"initialTrials: trial {tid} has no Hyperopt vals for this "
                                 f"searchSpace, and its choice {key!r} cannot be read back from "
                                 "its settings")
            param = self._params[key]
            if (param.parent, param.name) not in given:
                raise ValueError(f"initialTrials: trial {tid} does not set {param.name}, which "
                                 "the searchSpace searches; continue a search over the same space")
            label, value = _invert(expr, param, given[(param.parent, param.name)], tid)
            vals[label] = [value]
        return vals

    def _next(self, trial_id):
        # A setting already evaluated or in flight would waste a fit (TPE repeats itself on small
        # discrete spaces such as a grid): ask again, then take a setting not yet tried (a finite
        # space, where "exhausted" means every setting has run) or random draws (any other
        # space), and record the fallback in the trial's vals.
        for attempt in range(DUPLICATE_RETRIES + 1):
            docs = self._suggest([trial_id], self._domain, self._trials, self._draw_seed())
            if not docs:
                return {"exhausted": True}
            settings, key = self._setting(docs[0]["misc"]["vals"])
            if key not in self._proposed:
                return self._accept(trial_id, docs, settings, key, fallback=None)
        untried = self._untried()
        if untried is not None:
            if not untried:
                return {"exhausted": True}
            vals, settings, key = untried[int(self._rng.integers(len(untried)))]
            docs = self._trial_docs(trial_id, vals, STATUS_NEW)
            return self._accept(trial_id, docs, settings, key,
                                fallback="untried")
        for _ in range(RANDOM_DRAWS):
            docs = rand.suggest([trial_id], self._domain, self._trials, self._draw_seed())
            settings, key = self._setting(docs[0]["misc"]["vals"])
            if key not in self._proposed:
                return self._accept(trial_id, docs, settings, key, fallback="random")
        return {"exhausted": True}

    def _draw_seed(self):
        return int(self._rng.integers(2 ** 31 - 1))

    def _setting(self, vals):
        """The JVM settings for Hyperopt ``vals``, and their identity."""
        point = space_eval(self._space, {k: v[0] for k, v in vals.items() if len(v) > 0})
        settings = [encode_setting(p, value) for p, value in flatten(point, self._params)]
        return settings, _setting_key(settings)

    def _untried(self):
        """(vals, settings, key) of each setting of a finite space not yet proposed; None
        when the space is not finite."""
        if self._finite is None:
            listed = finite_settings(self._domain)
            self._finite = [] if listed is None else [(v,) + self._setting(v) for v in listed]
            self._finite_listed = listed is not None
        if not self._finite_listed:
            return None
        return [s for s in self._finite if s[2] not in self._proposed]

    def _trial_docs(self, tid, vals, status):
        """A Hyperopt trial document (in a list, as ``Trials`` takes it) for a setting this
        proposer did not get from ``suggest``: an earlier search's, or an untried one it chose."""
        misc = {"tid": tid, "cmd": self._domain.cmd, "workdir": self._domain.workdir,
                "idxs": {label: [tid] if v else [] for label, v in vals.items()},
                "vals": {label: list(v) for label, v in vals.items()}}
        return self._trials.new_trial_docs([tid], [None], [{"status": status}], [misc])

    def _accept(self, trial_id, docs, settings, key, fallback):
        self._proposed.add(key)
        self._trials.insert_trial_docs(docs)
        self._trials.refresh()
        self._docs[trial_id] = next(d for d in self._trials.trials if d["tid"] == trial_id)
        recorded = vals_json(docs[0]["misc"]["vals"])
        if fallback is not None:
            recorded["sparktpe_fallback"] = fallback
        return {"params": settings, "vals": recorded}

    def example(self):
        """The JVM's schema-check call (see ``sparktpe.TrialProposer.example``): one setting
        drawn at random from the space, from a history and a random generator of its own, so
        that the search's proposals are the same whether or not it is called."""
        try:
            with self._lock:
                rng = np.random.default_rng([self._seed, 1])
                docs = rand.suggest([0], self._domain, Trials(), int(rng.integers(2 ** 31 - 1)))
                vals = docs[0]["misc"]["vals"]
                return json.dumps({"params": self._setting(vals)[0], "vals": vals_json(vals)})
        except BaseException as e:
            if self.error is None:
                self.error = e
                self.error_traceback = traceback.format_exc()
            raise

    class Java:
        implements = ["sparktpe.TrialProposer"]


def _setting_key(settings):
    """A setting's identity, whatever the order of its Params."""
    return json.dumps(sorted(settings, key=lambda s: (s["parent"], s["name"])), sort_keys=True)


def _invert(expr, param, value, tid):
    """(label, Hyperopt value) that makes ``expr`` produce ``value``: the value itself for a
    plain ``hp.*`` distribution, the option's index for an ``hp.choice`` of constants.

    Raises
    ------
    ValueError
        When the expression is anything else (e.g. a choice between sub-spaces).
    """
    node = expr
    while isinstance(node, Apply) and node.name in ("float", "int") and len(node.pos_args) == 1:
        node = node.pos_args[0]
    if isinstance(node, Apply) and node.name == "hyperopt_param":
        return node.pos_args[0].obj, value
    if (isinstance(node, Apply) and node.name == "switch"
            and node.pos_args[0].name == "hyperopt_param"
            and all(isinstance(o, Literal) for o in node.pos_args[1:])):
        wanted = json.dumps(value)
        for index, option in enumerate(node.pos_args[1:]):
            if json.dumps(encode_setting(param, option.obj)["value"]) == wanted:
                return node.pos_args[0].pos_args[0].obj, index
        raise ValueError(f"initialTrials: trial {tid} sets {param.name} = {value}, which is not "
                         "one of the searchSpace's choices")
    raise ValueError(f"initialTrials: trial {tid} has no Hyperopt vals for this searchSpace, and "
                     f"its {param.name} cannot be mapped back to the space's expression (only "
                     "plain hp.* distributions and choices of constants can)")
