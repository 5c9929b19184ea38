"""The Hyperopt proposer alone (no Spark): TrialProposer.example, which the JVM calls once
before any job to check the estimator's schema with a setting applied."""

import json

from hyperopt import hp
from pyspark.ml.param import Param, Params, TypeConverters

from sparktpe.proposer import HyperoptProposer


class Knobs(Params):
    rate = Param(Params._dummy(), "rate", "a float", typeConverter=TypeConverters.toFloat)
    depth = Param(Params._dummy(), "depth", "an int", typeConverter=TypeConverters.toInt)

    def __init__(self):
        super().__init__()


def proposals(proposer, count):
    answers, finished = [], []
    for trial_id in range(count):
        answer = json.loads(proposer.propose(json.dumps({"trialId": trial_id, "finished": finished})))
        answers.append(answer["params"])
        finished = [{"trialId": trial_id, "status": "ok", "loss": float(trial_id), "vals": answer["vals"]}]
    return answers


def test_example_draws_one_setting_from_the_space_and_leaves_the_search_unchanged():
    knobs = Knobs()
    space = {knobs.rate: hp.uniform("rate", 0.25, 0.5), knobs.depth: hp.choice("depth", [3, 7])}
    plain = proposals(HyperoptProposer(space, "tpe", 8, seed=-7), 6)
    asked = HyperoptProposer(space, "tpe", 8, seed=-7)
    example = json.loads(asked.example())
    by_name = {s["name"]: s["value"] for s in example["params"]}
    assert set(by_name) == {"rate", "depth"} and all(s["parent"] == knobs.uid for s in example["params"])
    assert 0.25 <= by_name["rate"] <= 0.5 and by_name["depth"] in (3, 7)
    assert set(example["vals"]) == {"rate", "depth"}
    assert json.loads(asked.example()) == example  # seeded: the same draw each time
    assert proposals(asked, 6) == plain  # the search's own proposals did not move


def test_a_pruned_trial_ranks_after_every_finished_trial_whatever_its_partial_loss():
    # A pruned trial's partial loss (its first folds only) may look better than any full mean;
    # TPE must still count its setting among the poor ones, as Optuna's TPE does.
    knobs = Knobs()
    space = {knobs.rate: hp.uniform("rate", 0.25, 0.5)}
    proposer = HyperoptProposer(space, "tpe", 20, seed=3)
    finished = []
    for trial_id, (status, loss) in enumerate([("ok", -0.6), ("ok", -0.7), ("pruned", -0.9),
                                               ("ok", -0.65), ("failed", None)]):
        answer = json.loads(proposer.propose(json.dumps({"trialId": trial_id, "finished": finished})))
        finished = [{"trialId": trial_id, "status": status, "vals": answer["vals"],
                     **({} if loss is None else {"loss": loss})}]
    proposer.propose(json.dumps({"trialId": 5, "finished": finished}))
    losses = {doc["tid"]: doc["result"].get("loss") for doc in proposer._trials.trials}
    ok_losses = [losses[0], losses[1], losses[3]]
    assert ok_losses == [-0.6, -0.7, -0.65]
    assert losses[2] > max(ok_losses)  # ranked after the finished trials, not first
    assert proposer._trials.trials[2]["result"]["sparktpe_partial_loss"] == -0.9
    assert losses[4] is None and losses[5] is None  # failed and pending: TPE reads +inf
