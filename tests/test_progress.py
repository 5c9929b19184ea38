"""The progress bar polls the JVM search and shows trials done / maxEvals and the best metric."""

import io
import threading
import time

from pyspark.ml.tuning import ParamGridBuilder
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml import Pipeline

from sparktpe import BayesianCrossValidator
from sparktpe.progress import SearchProgress


def test_progress_bar_follows_a_running_search(spark, iris):
    lr = LogisticRegression(labelCol="target", maxIter=5)
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=["petal_length", "petal_width"],
                                                outputCol="features"), lr])
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.0, 0.01, 0.1, 1.0]).build()
    cv = BayesianCrossValidator(estimator=pipeline, estimatorParamMaps=grid, numFolds=2,
                                evaluator=MulticlassClassificationEvaluator(labelCol="target"))
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
