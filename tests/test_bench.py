"""The benchmark harness's own logic: how it tells a tuner's caches from an estimator's, the
rotated order of its repetitions, and how the search benchmark counts TPE's wins over random
search (bench/memory.py, bench/report.py, bench/search_quality.py)."""

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


def test_tpe_beats_random_only_by_more_than_run_to_run_noise():
    import argparse

    import search_quality  # noqa: E402  (imports pyspark and hyperopt, not a session)

    def run(best):
        return {"trials": [{"status": "ok", "metric": best}, {"status": "pruned", "metric": 0.9}],
                "fits": 4, "seconds": 1.0}

    random_bests, tpe_bests = [0.70, 0.70, 0.70], [0.700005, 0.7002, 0.69]
    runs = {"random p=1": [run(b) for b in random_bests], "TPE p=1": [run(b) for b in tpe_bests],
            "TPE p=2": [run(b) for b in tpe_bests]}
    summary = search_quality.summarise(runs, argparse.Namespace(parallelisms=[1, 2]))
    # 5e-6 is a tie (reruns of one setting differ by that much), 2e-4 a win, -1e-2 a loss; at
    # parallelism 2 the budget study's single random run (at the first parallelism) is the rival
    assert summary["tpe_vs_random"] == {"1": {"tpe_beats_random": 1, "seeds": 3},
                                        "2": {"tpe_beats_random": 1, "seeds": 3}}
    assert summary["spread"] == 0.0  # pruned trials' partial metrics are not in the spread


def test_the_search_benchmarks_grid_is_of_about_the_trial_budget(spark):
    from pyspark.ml.classification import RandomForestClassifier

    import search_quality  # noqa: E402

    forest = RandomForestClassifier()
    sizes = {n: len(search_quality.grid_of_size(forest, n)) for n in (2, 8, 14, 16)}
    assert sizes == {2: 2, 8: 8, 14: 12, 16: 16}  # 14 trials: a third depth, not 8 settings
    depths = sorted({m[forest.maxDepth] for m in search_quality.grid_of_size(forest, 14)})
    assert depths == [3, 5, 7]
