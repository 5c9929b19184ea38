"""Where the Params a search may set live: the estimator and, for a Pipeline, every stage."""

from pyspark.ml import Pipeline


def all_stages(estimator):
    """The estimator and, recursively, every stage of a Pipeline, outermost first."""
    stages = [estimator]
    if isinstance(estimator, Pipeline):
        for stage in estimator.getStages():
            stages.extend(all_stages(stage))
    return stages


def owner_of(estimator, param, extra=()):
    """The stage that owns ``param``: a stage of the estimator or of ``extra`` (stages a
    conditional search space brings in).

    Raises
    ------
    ValueError
        When the Param belongs to no stage of the estimator (e.g. a Param of another instance).
    """
    stages = all_stages(estimator) + [s for e in extra for s in all_stages(e)]
    for stage in stages:
        if stage.uid == param.parent and stage.hasParam(param.name):
            return stage
    uids = ", ".join(sorted({s.uid for s in stages}))
    raise ValueError(
        f"Param {param.parent}.{param.name} belongs to no stage of the estimator "
        f"{estimator.uid}; tunable stages are {uids}")


def java_stages(java_estimator):
    """Map uid -> JVM stage for a JVM estimator and, recursively, its Pipeline stages."""
    found = {java_estimator.uid(): java_estimator}
    if java_estimator.getClass().getName() == "org.apache.spark.ml.Pipeline":
        for stage in java_estimator.getStages():
            found.update(java_stages(stage))
    return found
