"""MLflow logging of a search, against a real local file store: a parent run for the search, one
child run per trial, the trials table and the best model as artifacts; and autolog alongside."""

import json
import sys

import mlflow
import mlflow.pyspark.ml
import mlflow.spark
import pytest
from hyperopt import hp
from hyperopt.pyll import scope
from mlflow import MlflowClient
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator, RegressionEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.ml.tuning import ParamGridBuilder

from sparktpe import BayesianCrossValidator, SearchError

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh file store in tmp_path with one experiment, chosen through environment variables
    that monkeypatch restores afterwards (so the previous tracking URI comes back)."""
    # MLflow 3.x refuses the file store ("maintenance mode") unless this is set; older versions
    # ignore it. The file store needs no database packages, which mlflow-skinny lacks.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tmp_path.as_uri())
    assert mlflow.get_tracking_uri() == tmp_path.as_uri()  # not overridden in this process
    client = MlflowClient()
    experiment = client.create_experiment("sparktpe-tests")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment)
    assert mlflow.active_run() is None
    yield client, experiment
    while mlflow.active_run() is not None:  # a failed test must not leave runs to the next
        mlflow.end_run()


def all_runs(store):
    client, experiment = store
    return client.search_runs([experiment], max_results=1000)


def children(runs, parent):
    return [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]


def by_trial(runs):
    return {int(r.data.tags["trialId"]): r for r in runs}


def iris_pipeline():
    lr = LogisticRegression(labelCol="target", maxIter=5)  # every iteration is a Spark job
    return Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lr]), lr


def accuracy():
    return MulticlassClassificationEvaluator(labelCol="target", metricName="accuracy")


def linear_pipeline():
    """Where what is logged does not depend on the model: least squares by the normal equations,
    one Spark job per fit (LogisticRegression takes one per iteration), scored by r2 (larger is
    better, one job)."""
    lin = LinearRegression(labelCol="target", solver="normal")
    return Pipeline(stages=[VectorAssembler(inputCols=FEATURES, outputCol="features"), lin]), lin


def r2():
    return RegressionEvaluator(labelCol="target", metricName="r2")


def reg_grid_cv(regs, **kwargs):
    """A 2-fold grid search over the linear pipeline's regParam."""
    pipeline, lin = linear_pipeline()
    grid = ParamGridBuilder().addGrid(lin.regParam, regs).build()
    return BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=r2(),
                                  numFolds=2, seed=1, **kwargs)


def family_grid_cv(families, **kwargs):
    """A 2-fold grid search over LogisticRegression's family; "binomial" fails on iris."""
    pipeline, lr = iris_pipeline()
    grid = ParamGridBuilder().addGrid(lr.family, families).build()
    return BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, evaluator=accuracy(),
                                  numFolds=2, seed=1, **kwargs)


def predictions(model, iris):
    return [r["prediction"] for r in model.transform(iris).orderBy(*FEATURES).collect()]


def test_a_search_under_an_active_run_logs_a_child_run_per_trial(spark, iris, store, tmp_path):
    client, _ = store
    pipeline, lr = linear_pipeline()  # maxIter: an integer Param, logged (normal equations ignore it)
    cv = BayesianCrossValidator(
        estimator=pipeline, evaluator=r2(), numFolds=2, seed=3, maxEvals=3, parallelism=2,
        searchSpace={lr.regParam: hp.loguniform("regParam", -6, 0),
                     lr.maxIter: scope.int(hp.quniform("maxIter", 2, 10, 1))})
    with mlflow.start_run() as outer:
        model = cv.fit(iris)
        assert mlflow.active_run().info.run_id == outer.info.run_id  # ours left the stack
    rows = {r["trialId"]: r for r in model.trials.collect()}
    runs = all_runs(store)
    assert len(runs) == 1 + 1 + 3
    [parent] = children(runs, outer)
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name == cv.uid
    params = parent.data.params
    assert {k: params[k] for k in ("searchAlgorithm", "maxEvals", "numFolds", "seed",
                                   "parallelism", "metricName", "estimator", "evaluator")} == {
        "searchAlgorithm": "tpe", "maxEvals": "3", "numFolds": "2", "seed": "3",
        "parallelism": "2", "metricName": "r2", "estimator": "pyspark.ml.pipeline.Pipeline",
        "evaluator": "pyspark.ml.evaluation.RegressionEvaluator"}
    best = max(rows.values(), key=lambda r: r["metric"])
    assert parent.data.metrics["r2"] == max(model.avgMetrics) == best["metric"]
    assert params["best_regParam"] == str(best["regParam"])
    assert (parent.data.metrics["trials_ok"], parent.data.metrics["trials_failed"]) == (3, 0)
    assert parent.data.tags["stopReason"] == model.stopReason
    assert parent.data.tags["bestTrialId"] == str(model.bestTrialId) == str(best["trialId"])
    assert model.bestModel.stages[-1].getRegParam() == float(params["best_regParam"])

    trial_runs = by_trial(children(runs, parent))
    assert sorted(trial_runs) == sorted(rows) == [0, 1, 2]
    for trial_id, run in trial_runs.items():
        row = rows[trial_id]
        assert run.info.run_name == f"trial-{trial_id}"
        assert run.info.status == "FINISHED" and run.data.tags["status"] == "ok"
        assert run.data.params == {"regParam": str(row["regParam"]), "maxIter": str(row["maxIter"])}
        assert float(run.data.params["regParam"]) == row["regParam"]
        assert run.data.metrics == {
            "r2": row["metric"], "r2_std": row["stdMetric"],
            "r2_fold0": row["foldMetrics"][0], "r2_fold1": row["foldMetrics"][1],
            "fitSeconds": row["fitSeconds"]}
        # Start and end are the trial's first fold start and last fold end (milliseconds).
        assert run.info.start_time == round(min(row["foldStartTimes"]) * 1000)
        assert run.info.end_time == round(max(row["foldEndTimes"]) * 1000)
        assert run.info.end_time > run.info.start_time

    with open(client.download_artifacts(parent.info.run_id, "trials.json", str(tmp_path))) as f:
        table = json.load(f)
    assert table == [r.asDict(recursive=True) for r in model.trials.orderBy("trialId").collect()]
    logged = mlflow.spark.load_model(f"runs:/{parent.info.run_id}/best_model")
    assert predictions(logged, iris) == predictions(model, iris)


def test_failed_trials_are_failed_child_runs_and_true_starts_a_run(spark, iris, store):
    # mlflowLogging=True with no active run: a top-level run is started, and ended after.
    model = family_grid_cv(["multinomial", "binomial"], mlflowLogging=True).fit(iris)
    assert mlflow.active_run() is None
    runs = all_runs(store)
    [parent] = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.status == "FINISHED"
    assert (parent.data.metrics["trials_ok"], parent.data.metrics["trials_failed"]) == (1, 1)
    assert parent.data.params["best_family"] == "multinomial"
    trial_runs = by_trial(children(runs, parent))
    assert len(runs) == 3 and sorted(trial_runs) == [0, 1]
    ok, failed = trial_runs[0], trial_runs[1]
    assert (ok.info.status, ok.data.tags["status"]) == ("FINISHED", "ok")
    assert (failed.info.status, failed.data.tags["status"]) == ("FAILED", "failed")
    assert "Binomial family only supports 1 or 2 outcome classes" in failed.data.tags["error"]
    assert failed.data.params == {"family": "binomial"}
    # NaN (no fold succeeded) is not logged; the seconds spent are.
    assert set(failed.data.metrics) == {"fitSeconds"}
    assert ok.data.metrics["accuracy"] == model.avgMetrics[0]


def test_a_search_error_ends_the_parent_run_failed_with_its_trials(spark, iris, store):
    with mlflow.start_run() as outer:
        with pytest.raises(SearchError, match="no trial succeeded") as caught:
            family_grid_cv(["binomial"]).fit(iris)
        assert mlflow.active_run().info.run_id == outer.info.run_id
    runs = all_runs(store)
    [parent] = children(runs, outer)
    assert parent.info.status == "FAILED"
    assert parent.data.tags["error"].startswith("SearchError: no trial succeeded")
    [trial] = children(runs, parent)
    [carried] = caught.value.trials.collect()
    assert carried["status"] == "failed"
    assert (trial.info.status, trial.data.tags["status"]) == ("FAILED", "failed")
    assert trial.data.tags["error"] == carried["error"]


def test_false_or_no_active_run_logs_nothing(spark, iris, store):
    with mlflow.start_run() as outer:
        reg_grid_cv([0.1], mlflowLogging=False).fit(iris)
    assert [r.info.run_id for r in all_runs(store)] == [outer.info.run_id]
    reg_grid_cv([0.1]).fit(iris)  # unset, and no run is active
    assert [r.info.run_id for r in all_runs(store)] == [outer.info.run_id]


def test_true_without_mlflow_says_how_to_install_it_before_any_spark_job(spark, iris, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # how Python sees an uninstalled package
    # Without the label column the search itself would fail: the ImportError comes first.
    no_label = iris.drop("target")
    with pytest.raises(ImportError, match=r"mlflowLogging = True.*pip install spark-tpe\[mlflow\]"):
        family_grid_cv(["multinomial"], mlflowLogging=True).fit(no_label)
    with pytest.raises(Exception, match="target"):  # unset: no logging, so the search runs
        family_grid_cv(["multinomial"]).fit(no_label)


def test_autolog_leaves_the_search_unchanged_and_nests_our_runs(spark, iris, store):
    plain = reg_grid_cv([0.0, 0.1]).fit(iris)
    assert plain.avgMetrics[0] != plain.avgMetrics[1]  # so that the runs' order is checked
    mlflow.pyspark.ml.autolog()
    try:
        logged = reg_grid_cv([0.0, 0.1]).fit(iris)
    finally:
        mlflow.pyspark.ml.autolog(disable=True)
    assert logged.avgMetrics == pytest.approx(plain.avgMetrics, rel=1e-12)
    assert predictions(logged, iris) == predictions(plain, iris)
    runs = all_runs(store)
    # Autolog starts a run around fit; our search run nests under it, the trials under ours.
    [top] = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    [parent] = children(runs, top)
    assert parent.info.run_name.startswith("BayesianCrossValidator")
    trial_runs = by_trial(children(runs, parent))
    assert sorted(trial_runs) == [0, 1] and len(runs) == 4
    assert [trial_runs[i].data.metrics["r2"] for i in (0, 1)] == logged.avgMetrics
