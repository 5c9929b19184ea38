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


def require_jar(spark, expected_version=VERSION):
    """Raise RuntimeError, saying what to do, unless ``spark``'s JVM has the matching sparktpe jar.

    Called before every fit. Refuses Spark Connect sessions (no py4j gateway to call back
    through), a driver without the sparktpe classes, and a jar whose version differs from this
    Python package's: the two speak a private protocol that may change between versions.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        A classic (py4j) session.
    expected_version : str, default ``sparktpe.version.VERSION``
        The version the jar must report.

    Raises
    ------
    RuntimeError
        On a Spark Connect session, a missing jar, or a version mismatch; the message names both
        versions, where the jar was loaded from and how to get the right one.
    """
    jvm = getattr(getattr(spark, "sparkContext", None), "_jvm", None) if not _is_connect(spark) else None
    if jvm is None:
        raise RuntimeError(
            "sparktpe needs classic PySpark (a py4j gateway to the driver JVM); Spark Connect "
            "sessions are not supported. Create the session with SparkSession.builder.master(...)")
    tuner_class = _find_class(jvm, "sparktpe.BayesianCrossValidator")
    if tuner_class is None:
        raise RuntimeError(
            "the running SparkSession has no sparktpe jar on its classpath. Start it with "
            "sparktpe.configure(SparkSession.builder)...getOrCreate(), or set "
            f"spark.jars={_jar_hint()} before the session starts")
    found = jar_version(spark)
    if found != expected_version:
        location = _jar_location(tuner_class) or "an unknown location"
        other_way = f"; or install spark-tpe=={found} to match the jar" if found else ""
        raise RuntimeError(
            f"sparktpe version mismatch: the Python package is {expected_version} but the jar on "
            f"the Spark driver's classpath is {found or 'a build that records no version'} "
            f"(loaded from {location}); the two must come from the same release. Stop this "
            f"session and start one with the {expected_version} jar: "
            "sparktpe.configure(SparkSession.builder) adds the jar this package finds (see "
            f"sparktpe.spark_jars()), or set spark.jars=<path>/sparktpe_2.13-{expected_version}.jar "
            f"or spark.jars.packages=io.github.sparktpe:sparktpe_2.13:{expected_version}"
            f"{other_way}. In a source checkout, rebuild the jar with `project/sbt package`")


def jar_version(spark):
    """The version of the sparktpe jar in ``spark``'s driver JVM.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        A classic (py4j) session with the sparktpe jar on its classpath.

    Returns
    -------
    str or None
        ``version`` from build.sbt as compiled into the jar (class ``sparktpe.SparktpeVersion``),
        or None for a jar built before the class existed.
    """
    jvm = spark.sparkContext._jvm
    if _find_class(jvm, "sparktpe.SparktpeVersion") is None:
        return None
    return jvm.sparktpe.SparktpeVersion.version()


def _find_class(jvm, name):
    """The JVM class ``name`` as the driver's context class loader (which sees spark.jars) sees
    it, or None."""
    try:
        return jvm.java.lang.Class.forName(
            name, True, jvm.java.lang.Thread.currentThread().getContextClassLoader())
    except Exception:  # py4j raises Py4JJavaError(ClassNotFoundException)
        return None


def _jar_location(java_class):
    """Path (or URL) of the jar or directory ``java_class`` was loaded from, or None."""
    source = java_class.getProtectionDomain().getCodeSource()
    url = source.getLocation() if source is not None else None
    if url is None:
        return None
    return url.getPath() if url.getProtocol() == "file" else url.toString()


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


__all__ = ["spark_jars", "configure", "require_jar", "jar_version"]
