"""Finite spaces (choices only, e.g. a grid searched with TPE): when the proposer keeps
repeating itself it takes a setting not yet tried, and the space is exhausted only when every
setting has run."""

import json

from hyperopt import hp
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.linalg import Vectors
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import ParamGridBuilder

from sparktpe import BayesianCrossValidator
from sparktpe.proposer import HyperoptProposer


def test_tpe_on_a_2x3_grid_runs_every_setting_then_is_exhausted(spark, jvm_frame):
    data = jvm_frame(
        [(3.0 * i + (i % 4), Vectors.dense([float(i), float(i % 3)])) for i in range(30)],
        ["label", "features"])
    lin = LinearRegression()
    grid = (ParamGridBuilder().addGrid(lin.maxIter, [1, 5])
            .addGrid(lin.regParam, [0.0, 0.5, 5.0]).build())
    cv = BayesianCrossValidator(estimator=lin, estimatorParamMaps=grid, evaluator=RegressionEvaluator(),
                                searchAlgorithm="tpe", numFolds=2, seed=5)
    every = {(m[lin.maxIter], m[lin.regParam]) for m in grid}
    six = cv.copy().setMaxEvals(6).fit(data)
    assert {(r["maxIter"], r["regParam"]) for r in six.trials.collect()} == every
    assert six.stopReason == "maxEvals (6) reached"
    seven = cv.copy().setMaxEvals(7).fit(data)
    assert {(r["maxIter"], r["regParam"]) for r in seven.trials.collect()} == every
    assert seven.trials.count() == 6
    assert seven.stopReason == "the proposer had no more settings"


class Knobs(Params):
    """Two plain Python Params (the proposer needs no JVM)."""
    a = Param(Params._dummy(), "a", "first", typeConverter=TypeConverters.toInt)
    b = Param(Params._dummy(), "b", "second", typeConverter=TypeConverters.toInt)

    def __init__(self):
        super().__init__()


def test_a_400_setting_space_is_proposed_whole_before_it_is_exhausted():
    # Random draws alone would miss some of the last untried settings of 400.
    knobs = Knobs()
    space = {knobs.a: hp.choice("a", list(range(20))), knobs.b: hp.choice("b", list(range(20)))}
    proposer = HyperoptProposer(space, "random", 400, seed=3)
    seen, finished = set(), []
    for trial_id in range(401):
        answer = json.loads(proposer.propose(json.dumps({"trialId": trial_id, "finished": finished})))
        if trial_id == 400:
            assert answer == {"exhausted": True}
            break
        assert "exhausted" not in answer, f"exhausted after {trial_id} of 400 settings"
        seen.add(tuple(s["value"] for s in sorted(answer["params"], key=lambda s: s["name"])))
        finished = [{"trialId": trial_id, "status": "ok", "loss": 0.0, "vals": answer["vals"]}]
    assert seen == {(a, b) for a in range(20) for b in range(20)}
