"""Driver memory while a search runs: JVM heap, Spark's cached storage, Python's peak RSS.

A sampler thread asks the driver JVM every ``interval`` seconds (through py4j) for its heap in
use (``Runtime.totalMemory() - freeMemory()``) and for the memory size of every cached RDD and
DataFrame (``SparkContext.getRDDStorageInfo()``, what the Spark UI's Storage tab shows), and keeps
the peaks. Python's peak resident set comes from ``resource.getrusage`` (the process's lifetime
peak, so run one search per process to attribute it).
"""

import re
import resource
import threading

# Spark names the RDD behind a Dataset's cache after its physical plan (or "In-memory table
# <name>" for a cached table), so the name holds attribute references such as "month#123";
# an RDD that an estimator persists itself keeps its class name ("MapPartitionsRDD") or the name
# the estimator gave it ("bagged tree points" in RandomForest).
_PLAN_ATTRIBUTE = re.compile(r"\w#\d+")


def is_dataset_cache(name):
    """Whether an RDDInfo name is that of a Dataset/DataFrame cache (not an RDD persist)."""
    return name.startswith("In-memory table") or _PLAN_ATTRIBUTE.search(name) is not None


def storage(spark):
    """Every cached RDD of the session: a list of (rdd id, name, bytes in memory + on disk)."""
    return [(info.id(), info.name(), info.memSize() + info.diskSize())
            for info in spark.sparkContext._jsc.sc().getRDDStorageInfo()]


def cached_bytes(spark):
    """Bytes in memory of every cached RDD/DataFrame of the session (sum of ``memSize``)."""
    return sum(info.memSize() for info in spark.sparkContext._jsc.sc().getRDDStorageInfo())


def heap_used_bytes(spark):
    runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()
    return runtime.totalMemory() - runtime.freeMemory()


def python_max_rss_bytes():
    """This Python process's peak resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Sampler:
    """Samples heap in use and cached bytes from a thread while the ``with`` block runs.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    interval : float, default 0.2
        Seconds between samples.

    Attributes (after the block)
    ----------------------------
    peak_heap_bytes, peak_cached_bytes : int
        Largest values seen, including one sample at the start and one at the end.
    samples : int
        Number of samples taken.
    peak_dataset_bytes, peak_rdd_bytes : int
        Largest bytes (memory + disk) at one moment of Dataset caches and of RDD persists
        (:func:`is_dataset_cache`) that were not cached when the block began: what the code in
        the block cached itself. A tuner caches Datasets (its input, fold splits, stage outputs);
        estimators persist RDDs of their training instances (LogisticRegression, forests).
    """

    def __init__(self, spark, interval=0.2):
        self._spark = spark
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory-sampler", daemon=True)
        self.peak_heap_bytes = 0
        self.peak_cached_bytes = 0
        self.peak_dataset_bytes = 0
        self.peak_rdd_bytes = 0
        self.samples = 0
        self._before = {rdd for rdd, _, _ in storage(spark)}

    def _sample(self):
        self.peak_heap_bytes = max(self.peak_heap_bytes, heap_used_bytes(self._spark))
        self.peak_cached_bytes = max(self.peak_cached_bytes, cached_bytes(self._spark))
        new = [(name, size) for rdd, name, size in storage(self._spark) if rdd not in self._before]
        self.peak_dataset_bytes = max(self.peak_dataset_bytes,
                                      sum(size for name, size in new if is_dataset_cache(name)))
        self.peak_rdd_bytes = max(self.peak_rdd_bytes,
                                  sum(size for name, size in new if not is_dataset_cache(name)))
        self.samples += 1

    def _run(self):
        while not self._stop.wait(self._interval):
            self._sample()

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        return False
