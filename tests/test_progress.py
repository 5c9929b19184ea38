"""The progress bar polls the JVM search and shows trials done / maxEvals and the best metric."""

import io
import os
import sys
import threading
import time

from pyspark.ml.tuning import ParamGridBuilder
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.ml import Pipeline

from sparktpe import BayesianCrossValidator
from sparktpe.progress import SearchProgress


def grid_cv(**tuner_params):
    """A 2-fold search of a 4-point grid. The bar is what is checked, not the model: least
    squares by the normal equations (one Spark job per fit; LogisticRegression takes one per
    iteration), scored by rmse (one job)."""
    lin = LinearRegression(labelCol="target", solver="normal")
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=["petal_length", "petal_width"],
                                                outputCol="features"), lin])
    grid = ParamGridBuilder().addGrid(lin.regParam, [0.0, 0.01, 0.1, 1.0]).build()
    return BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, numFolds=2,
                                  evaluator=RegressionEvaluator(labelCol="target"), **tuner_params)


def test_progress_bar_follows_a_running_search(spark, iris):
    cv = grid_cv()
    java_tuner, _ = cv._to_java_for_fit(spark.sparkContext)
    assert java_tuner.progressJson() == '{"finished": 0, "total": 0, "best": null}'
    runner = threading.Thread(target=java_tuner.fit, args=(iris._jdf,))
    runner.start()
    screen = io.StringIO()
    bar = SearchProgress(java_tuner, file=screen)
    seen = set()
    while runner.is_alive():
        bar.update()
        seen.add(screen.getvalue().split("\r")[-1].split("|")[-1].split("[")[0].strip())
        time.sleep(0.05)
    runner.join()
    bar.close()
    # Between trials the bar showed partial counts out of the grid's 4, with a best metric.
    assert any(s.startswith("1/4") or s.startswith("2/4") or s.startswith("3/4") for s in seen), seen
    assert "best=" in screen.getvalue()


def _fit_with_stderr_on_a_terminal(monkeypatch, iris, **tuner_params):
    """Fits a 4-point grid while sys.stderr is a pseudo-terminal; returns what reached it."""
    cv = grid_cv(**tuner_params)
    # A new pseudo-terminal reports 0 columns, as `script` and some containers do: the bar
    # must still draw.
    reader_fd, writer_fd = os.openpty()
    terminal = os.fdopen(writer_fd, "w")
    screen = []
    # Drain the terminal while fitting, so a full pty buffer never blocks the bar.
    drain = threading.Thread(target=lambda: _read_all(reader_fd, screen), daemon=True)
    drain.start()
    monkeypatch.setattr(sys, "stderr", terminal)
    try:
        cv.fit(iris)
    finally:
        monkeypatch.undo()
        terminal.close()  # the reader then sees end of file
        drain.join(10)
        os.close(reader_fd)
    return b"".join(screen).decode(errors="replace")


def _read_all(fd, chunks):
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO once the terminal's writer is closed
            return
        if not chunk:
            return
        chunks.append(chunk)


def test_fit_draws_the_bar_on_a_terminal_and_not_with_show_progress_false(spark, iris, monkeypatch):
    shown = _fit_with_stderr_on_a_terminal(monkeypatch, iris)
    # The bar's last state: all 4 grid points done, a best metric and the elapsed time.
    assert "4/4" in shown and "best=" in shown and "trial" in shown, shown
    assert _fit_with_stderr_on_a_terminal(monkeypatch, iris, showProgress=False) == ""
