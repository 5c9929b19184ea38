"""Finding the sparktpe jar and putting it on a SparkSession's classpath."""

import os

from sparktpe.version import VERSION

_HERE = os.path.dirname(os.path.abspath(__file__))
_JAR = f"sparktpe_2.13-{VERSION}.jar"


def spark_jars():
    """Path of the sparktpe jar, for ``spark.jars`` or ``spark-submit --jars``.

    Looks, in order, at ``$SPARKTPE_JAR``, the jar shipped inside an installed wheel
    (``sparktpe/jars/``), and the jar built by ``project/sbt package`` in a source checkout.

    Returns
    -------
    str
        An absolute path.

    Raises
    ------
    FileNotFoundError
        When no jar exists yet; the message says how to build it.
    """
    candidates = [os.environ.get("SPARKTPE_JAR", ""),
                  os.path.join(_HERE, "jars", _JAR),
                  os.path.join(_HERE, "..", "..", "target", "scala-2.13", _JAR)]
    for path in candidates:
        if path and os.path.isfile(path):
            return os.path.abspath(path)
    raise FileNotFoundError(
        f"sparktpe jar {_JAR} not found (looked at $SPARKTPE_JAR, {candidates[1]}, "
        f"{os.path.abspath(candidates[2])}); build it with `project/sbt package` "
        "in the sparktpe checkout, or set SPARKTPE_JAR")


def configure(builder):
    """Add the sparktpe jar to a ``SparkSession.Builder``'s ``spark.jars`` and return it.

    Examples
    --------
    >>> spark = sparktpe.configure(SparkSession.builder.master("local[2]")).getOrCreate()
    """
    return builder.config("spark.jars", spark_jars())


def require_jar(spark):
    """Raise RuntimeError, saying what to do, if ``spark``'s JVM lacks the sparktpe classes.

    Also refuses Spark Connect sessions, which have no py4j gateway to call back through.
    """
    jvm = getattr(getattr(spark, "sparkContext", None), "_jvm", None) if not _is_connect(spark) else None
    if jvm is None:
        raise RuntimeError(
            "sparktpe needs classic PySpark (a py4j gateway to the driver JVM); Spark Connect "
            "sessions are not supported. Create the session with SparkSession.builder.master(...)")
    try:
        found = jvm.java.lang.Class.forName(
            "sparktpe.BayesianCrossValidator", True, jvm.java.lang.Thread.currentThread().getContextClassLoader())
    except Exception:  # py4j raises Py4JJavaError(ClassNotFoundException)
        found = None
    if found is None:
        raise RuntimeError(
            "the running SparkSession has no sparktpe jar on its classpath. Start it with "
            "sparktpe.configure(SparkSession.builder)...getOrCreate(), or set "
            f"spark.jars={_jar_hint()} before the session starts")


def _jar_hint():
    try:
        return spark_jars()
    except FileNotFoundError as e:
        return f"<sparktpe jar> ({e})"


def _is_connect(spark):
    try:
        from pyspark.sql.utils import is_remote
        if is_remote():
            return True
    except ImportError:
        pass
    return type(spark).__module__.startswith("pyspark.sql.connect")


__all__ = ["spark_jars", "configure", "require_jar"]
