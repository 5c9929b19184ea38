"""One real local SparkSession for the whole test session, with the sparktpe jar on it."""

import os

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from sklearn.datasets import load_breast_cancer, load_iris

import sparktpe

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cluster: starts a Spark standalone cluster on 127.0.0.1 (about 2 minutes); "
                   "leave out with -m 'not cluster'")


@pytest.fixture(scope="session")
def spark():
    session = (sparktpe.configure(SparkSession.builder)
               .master("local[2]")
               .appName("sparktpe-tests")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _in_the_jvm(spark, data, schema=None):
    """``data`` (a pandas frame or a list of rows) as a DataFrame whose scans run in the JVM
    alone. Rows from createDataFrame pass through a Python worker in every job that reads them
    (about 0.75 s more per job here); a local checkpoint keeps the same two partitions of the same
    rows in the same order (so the same folds and splits), is not cached (tuners still cache their
    input), and every read of it is still a Spark job."""
    return spark.createDataFrame(data, schema).localCheckpoint(eager=True)


@pytest.fixture(scope="session")
def jvm_frame(spark):
    """``jvm_frame(data, schema=None)``: ``spark.createDataFrame`` whose scans run in the JVM
    alone (see ``_in_the_jvm``)."""
    return lambda data, schema=None: _in_the_jvm(spark, data, schema)


def _clean(frame):
    frame.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in frame.columns]
    return frame


@pytest.fixture(scope="session")
def iris(spark):
    """Iris (150 rows, 3 classes): columns sepal_length..petal_width, target (double)."""
    frame = _clean(load_iris(as_frame=True).frame)
    frame["target"] = frame["target"].astype(float)
    return _in_the_jvm(spark, frame)


@pytest.fixture(scope="session")
def cancer(spark):
    """Breast cancer (569 rows, binary): worst_radius, mean_texture, target (double)."""
    frame = _clean(load_breast_cancer(as_frame=True).frame)
    frame = pd.DataFrame({"worst_radius": frame["worst_radius"],
                          "mean_texture": frame["mean_texture"],
                          "target": frame["target"].astype(float)})
    return _in_the_jvm(spark, frame)
