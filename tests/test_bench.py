"""The benchmark harness's own logic: how it tells a tuner's caches from an estimator's, and the
rotated order of its repetitions (bench/memory.py, bench/report.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import memory  # noqa: E402  (bench/ is not a package)
import report  # noqa: E402


def test_dataset_caches_are_told_from_rdd_persists(spark, jvm_frame):
    """A cached DataFrame (what tuners cache) and a persisted RDD, named or not (what estimators
    persist), as this Spark names them in its storage info."""
    frame = jvm_frame([(1, 2.0), (2, 3.0)], "a int, b double")
    dataset = frame.select("a").cache()
    plain = spark.sparkContext.parallelize([1, 2], 1).map(lambda x: x).cache()
    named = spark.sparkContext.parallelize([3], 1).cache().setName("bagged tree points")
    try:
        before = {rdd for rdd, _, _ in memory.storage(spark)}
        dataset.count()
        plain.count()
        named.count()
        new = {name: size for rdd, name, size in memory.storage(spark) if rdd not in before}
        kinds = {name: memory.is_dataset_cache(name) for name in new}
        assert sorted(kinds.values()) == [False, False, True]
        assert kinds["bagged tree points"] is False
        assert all(size > 0 for size in new.values())
    finally:
        dataset.unpersist(blocking=True)
        plain.unpersist(blocking=True)
        named.unpersist(blocking=True)


def test_repetitions_rotate_the_order_of_contenders():
    order = []
    results = report.repeat(["a", "b", "c"], 4, lambda name, rep: order.append((rep, name)) or {"seconds": 0.0})
    assert [name for _, name in order] == list("abc" "bca" "cab" "abc")
    assert {name: len(runs) for name, runs in results.items()} == {"a": 4, "b": 4, "c": 4}
