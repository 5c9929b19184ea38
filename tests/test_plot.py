"""sparktpe.plot draws the convergence curve and the metric per Param from real searches."""

import math
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
from hyperopt import hp
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator, RegressionEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql.types import (ArrayType, BooleanType, DoubleType, IntegerType, LongType,
                               StringType, StructField, StructType)

from sparktpe import BayesianCrossValidator, BayesianTrainValidationSplit
from sparktpe.plot import plot_convergence, plot_params, save_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def lines(axes):
    """The Line2D artists of one Axes by their legend label."""
    return {line.get_label(): line for line in axes.get_lines()}


def running_best(metrics, larger_is_better):
    best, out = None, []
    for m in metrics:
        best = m if best is None or (m > best if larger_is_better else m < best) else best
        out.append(best)
    return out


@pytest.fixture(scope="module")
def accuracy_search(iris):
    """A real 6-trial TPE search on iris (2 folds), accuracy: larger is better."""
    lr = LogisticRegression(labelCol="target", maxIter=5)
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=["sepal_length", "sepal_width"],
                                                outputCol="features"), lr])
    space = {lr.regParam: hp.loguniform("regParam", math.log(1e-4), math.log(10.0)),
             lr.elasticNetParam: hp.uniform("elasticNetParam", 0.0, 1.0)}
    evaluator = MulticlassClassificationEvaluator(labelCol="target", metricName="accuracy")
    return BayesianCrossValidator(estimator=pipeline, evaluator=evaluator, searchSpace=space,
                                  maxEvals=6, numFolds=2, parallelism=2, seed=11).fit(iris)


@pytest.fixture(scope="module")
def rmse_search(iris):
    """A real 6-trial TPE search regressing petal_width, rmse: smaller is better."""
    linear = LinearRegression(labelCol="petal_width", maxIter=10)
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=["sepal_length", "petal_length"],
                                                outputCol="features"), linear])
    space = {linear.regParam: hp.loguniform("regParam", math.log(1e-3), math.log(10.0))}
    evaluator = RegressionEvaluator(labelCol="petal_width", metricName="rmse")
    return BayesianTrainValidationSplit(estimator=pipeline, evaluator=evaluator, searchSpace=space,
                                        maxEvals=6, seed=3).fit(iris)


def test_save_plots_writes_two_real_pngs_of_the_documented_size(accuracy_search, tmp_path):
    paths = save_plots(accuracy_search, tmp_path / "plots")
    assert paths == (str(tmp_path / "plots" / "convergence.png"),
                     str(tmp_path / "plots" / "params.png"))
    for path, (height, width) in zip(paths, [(400, 700), (320, 800)]):  # 7x4 in; 2 panels 4x3.2
        with open(path, "rb") as f:
            data = f.read()
        assert data[:8] == PNG_MAGIC
        assert len(data) > 10_000  # axes, points and text, not a blank canvas
        pixels = matplotlib.image.imread(path)
        assert pixels.shape[:2] == (height, width)
        assert pixels[..., :3].std() > 0.05  # something is drawn
    # Twice the dpi, twice the pixels.
    paths = save_plots(accuracy_search, tmp_path / "big", dpi=200)
    assert matplotlib.image.imread(paths[0]).shape[:2] == (800, 1400)


def test_convergence_plots_every_ok_trial_and_the_running_max(accuracy_search):
    rows = accuracy_search.trials.orderBy("trialId").collect()
    assert [r.status for r in rows] == ["ok"] * 6
    figure = plot_convergence(accuracy_search)
    (axes,) = figure.axes
    drawn = lines(axes)
    ids = [r.trialId for r in rows]
    metrics = [r.metric for r in rows]
    assert list(drawn["ok trial"].get_xdata()) == ids
    assert list(drawn["ok trial"].get_ydata()) == metrics
    assert list(drawn["best so far"].get_xdata()) == ids
    assert list(drawn["best so far"].get_ydata()) == running_best(metrics, True)
    assert drawn["best so far"].get_drawstyle() == "steps-post"
    # The metrics vary, so the running max is not the metrics themselves.
    assert running_best(metrics, True) != metrics
    best = int(np.argmax(accuracy_search.avgMetrics))
    (star,) = [line for label, line in drawn.items() if label.startswith("best trial")]
    assert list(star.get_xdata()) == [best] and list(star.get_ydata()) == [max(metrics)]
    assert axes.get_ylabel() == "accuracy (higher is better)"
    assert "6 trials: 6 ok" in axes.get_title()


def test_params_has_one_panel_per_tuned_param_with_its_values(accuracy_search):
    rows = accuracy_search.trials.orderBy("trialId").collect()
    figure = plot_params(accuracy_search)
    assert [a.get_xlabel() for a in figure.axes] == ["elasticNetParam", "regParam"]
    for axes in figure.axes:
        name = axes.get_xlabel()
        values = [r[name] for r in rows]
        ok = lines(axes)["ok trial"]
        assert list(ok.get_xdata()) == values
        assert list(ok.get_ydata()) == [r.metric for r in rows]
        log = max(values) / min(values) > 100 and np.median(values) < max(values) / 10
        assert axes.get_xscale() == ("log" if log else "linear"), (name, values)
    # regParam is drawn from 1e-4..10: this seed's 6 draws span more than two decades.
    regs = [r.regParam for r in rows]
    assert max(regs) / min(regs) > 100 and figure.axes[1].get_xscale() == "log"
    assert figure.axes[0].get_ylabel() == "accuracy"


def test_smaller_is_better_follows_the_running_min(rmse_search):
    rows = rmse_search.trials.orderBy("trialId").collect()
    ok = [r for r in rows if r.status == "ok"]
    assert ok == rows  # so the line has no tail after the last ok trial
    metrics = [r.metric for r in ok]
    expected = running_best(metrics, False)
    assert expected != running_best(metrics, True)  # the direction matters for this search
    (axes,) = plot_convergence(rmse_search).axes
    assert list(lines(axes)["best so far"].get_ydata()) == expected
    assert axes.get_ylabel() == "rmse (lower is better)"
    # The trials table alone gives the same line only with the evaluator's direction.
    table = rmse_search.trials
    (axes,) = plot_convergence(table, larger_is_better=False, metric_name="rmse").axes
    assert list(lines(axes)["best so far"].get_ydata()) == expected
    (axes,) = plot_convergence(table, larger_is_better=True).axes
    assert list(lines(axes)["best so far"].get_ydata()) == running_best(metrics, True)
    assert axes.get_ylabel() == "metric (higher is better)"
    # The star marks the trial the tuner kept: the lowest rmse.
    best = min(ok, key=lambda r: r.metric)
    (panel,) = plot_params(rmse_search).axes
    (star,) = [line for label, line in lines(panel).items() if label.startswith("best trial")]
    assert list(star.get_xdata()) == [best.regParam]
    assert rmse_search.bestModel.stages[-1].getRegParam() == best.regParam


def mixed_trials(spark):
    """A trials table with every status, a bool, a string (unset once) and an int Param, and a
    column the plots do not know (foldStartTimes)."""
    schema = StructType([StructField("trialId", IntegerType(), False),
                         StructField("family", StringType()),
                         StructField("fitIntercept", BooleanType()),
                         StructField("maxIter", LongType()),
                         StructField("foldMetrics", ArrayType(DoubleType(), False)),
                         StructField("metric", DoubleType()),
                         StructField("stdMetric", DoubleType()),
                         StructField("status", StringType()),
                         StructField("error", StringType()),
                         StructField("fitSeconds", DoubleType()),
                         StructField("foldStartTimes", ArrayType(DoubleType()))])
    nan = float("nan")
    rows = [  # trialId, family, fitIntercept, maxIter, folds, metric, std, status, error, s, starts
        (0, "auto", True, 10, [0.80, 0.82], 0.81, 0.01, "ok", None, 1.0, [0.0, 0.5]),
        (1, "multinomial", False, 5, [0.99, nan], 0.99, 0.0, "pruned", None, 0.5, [1.0, nan]),
        (2, None, True, 20, [nan, nan], nan, nan, "failed", "boom", 0.1, [2.0, 2.0]),
        (3, "auto", False, 30, [nan, nan], nan, nan, "cancelled", None, 0.2, [3.0, 3.0]),
        (4, None, False, 50, [0.90, 0.88], 0.89, 0.01, "ok", None, 1.1, [4.0, 4.5]),
        (5, "multinomial", True, 1, [0.70, 0.72], 0.71, 0.01, "ok", None, 0.9, [5.0, 5.5]),
        (6, "auto", True, 40, [nan, nan], nan, nan, "failed", "boom", 0.1, [6.0, 6.0]),
    ]
    return spark.createDataFrame(rows, schema)


@pytest.mark.parametrize("as_pandas", [False, True])
def test_pruned_trials_are_marked_and_failed_ones_left_out(spark, as_pandas):
    table = mixed_trials(spark)
    if as_pandas:
        table = table.toPandas()
    (axes,) = plot_convergence(table, larger_is_better=True).axes
    drawn = lines(axes)
    assert list(drawn["ok trial"].get_xdata()) == [0, 4, 5]
    assert list(drawn["pruned trial (partial metric)"].get_xdata()) == [1]
    assert drawn["pruned trial (partial metric)"].get_marker() != drawn["ok trial"].get_marker()
    # The pruned trial's 0.99 beats every ok trial but is never the best so far; the line
    # ends at the last trial (6, failed) with the final best.
    assert list(drawn["best so far"].get_xdata()) == [0, 4, 5, 6]
    assert list(drawn["best so far"].get_ydata()) == [0.81, 0.89, 0.89, 0.89]
    assert "best trial 4: 0.89" in drawn
    points = {x for label, line in drawn.items() if label != "best so far"
              for x in line.get_xdata()}
    assert points == {0, 1, 4, 5}  # failed and cancelled trials: no metric, no point
    assert axes.get_title() == ("Convergence: 7 trials: 3 ok, 1 pruned, 2 failed and "
                                "1 cancelled (not shown)")

    figure = plot_params(table, larger_is_better=True)
    family, intercept, max_iter = figure.axes  # table order; foldStartTimes is no Param
    assert [a.get_xlabel() for a in figure.axes] == ["family", "fitIntercept", "maxIter"]
    # Categories sorted by text at 0..k-1; trial 4 left family unset, so it is absent there.
    assert [t.get_text() for t in family.get_xticklabels()] == ["auto", "multinomial"]
    assert list(lines(family)["ok trial"].get_xdata()) == [0, 1]  # trials 0 and 5
    assert list(lines(family)["ok trial"].get_ydata()) == [0.81, 0.71]
    assert list(lines(family)["pruned trial (partial metric)"].get_xdata()) == [1]
    assert [t.get_text() for t in intercept.get_xticklabels()] == ["False", "True"]
    assert list(lines(intercept)["ok trial"].get_xdata()) == [1, 0, 1]  # True, False, True
    assert list(lines(max_iter)["ok trial"].get_xdata()) == [10, 50, 1]
    assert max_iter.get_xscale() == "linear"  # 1..50 spans less than two decades
    assert "best trial 4" in lines(max_iter) and "best trial 4" not in lines(family)


def test_log_axes_for_values_spread_over_decades(spark):
    schema = ("trialId int, regParam double, elasticNetParam double, tol double, "
              "foldMetrics array<double>, metric double, status string")
    rows = [(0, 0.0, 0.004, 1e-6), (1, 1e-4, 0.3, 1e-5), (2, 1e-3, 0.5, 1e-4),
            (3, 1.0, 0.7, 1e-3), (4, 0.01, 0.9, 1e-2)]
    table = spark.createDataFrame([r + ([0.5],  0.5 + r[0] / 10, "ok") for r in rows], schema)
    reg, net, tol = plot_params(table, larger_is_better=False).axes
    # Log-uniform-like values with a zero: log beyond the smallest positive value, linear below.
    assert reg.get_xscale() == "symlog"
    assert reg.xaxis.get_transform().linthresh == 1e-4
    assert list(lines(reg)["ok trial"].get_xdata()) == [0.0, 1e-4, 1e-3, 1.0, 0.01]
    # Uniform-like values with one tiny draw span 2.4 decades, but most sit high: linear.
    assert net.get_xscale() == "linear"
    assert tol.get_xscale() == "log"
    assert list(lines(tol)["ok trial"].get_ydata()) == [0.5, 0.6, 0.7, 0.8, 0.9]


def test_wrong_input_is_refused_naming_the_argument(spark, accuracy_search, tmp_path):
    with pytest.raises(ValueError, match=r"model = builtins.str is not allowed: a fitted "
                                         r"BayesianCrossValidatorModel"):
        plot_convergence("trials.csv", larger_is_better=True)
    with pytest.raises(ValueError, match=r"model = pyspark.ml.classification.LogisticRegression"):
        plot_params(LogisticRegression())
    table = mixed_trials(spark)
    with pytest.raises(ValueError, match="larger_is_better = None is not allowed with a trials "
                                         "DataFrame"):
        plot_convergence(table)
    with pytest.raises(ValueError, match="larger_is_better = 'yes' is not allowed"):
        plot_convergence(table, larger_is_better="yes")
    with pytest.raises(ValueError, match="larger_is_better = False is not allowed: the model's "
                                         "evaluator says isLargerBetter\\(\\) = True"):
        plot_convergence(accuracy_search, larger_is_better=False)
    none_ok = table.filter("status != 'ok'")
    with pytest.raises(ValueError, match=r"no trial with status 'ok' .*4 trials: 1 cancelled, "
                                         r"2 failed, 1 pruned"):
        plot_convergence(none_ok, larger_is_better=True)
    with pytest.raises(ValueError, match="the trials DataFrame has no column status"):
        plot_params(table.drop("status"), larger_is_better=True)
    with pytest.raises(ValueError, match=r"params = \['maxIter', 'tol'\] is not allowed"):
        plot_params(table, larger_is_better=True, params=["maxIter", "tol"])
    with pytest.raises(ValueError, match="no foldMetrics column"):
        plot_params(table.drop("foldMetrics"), larger_is_better=True)
    (only,) = plot_params(table.drop("foldMetrics"), larger_is_better=True, params="maxIter").axes
    assert only.get_xlabel() == "maxIter"
    with pytest.raises(ValueError, match="directory = None is not allowed"):
        save_plots(accuracy_search, None)
    with pytest.raises(ValueError, match="dpi = 0 is not allowed: a positive number"):
        save_plots(accuracy_search, tmp_path, dpi=0)
    assert not list(tmp_path.iterdir())  # nothing written by refused calls


def test_importing_sparktpe_needs_no_matplotlib_and_plotting_says_how_to_get_it():
    # A fresh interpreter where importing matplotlib fails, as if it were not installed.
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "import sparktpe, sparktpe.plot\n"
        "try:\n"
        "    sparktpe.plot.plot_convergence(None)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("sparktpe.plot needs matplotlib, which is not installed: "
                                     "pip install 'spark-tpe[plot]' (or pip install matplotlib)")
