"""Where the Params a search may set live: the estimator and every stage nested in it.

Nesting is generic, as in PySpark's ``MetaAlgorithmReadWrite.getAllNestedStages`` but without
its list of known classes: any Param whose value is a stage, or a list of stages, leads to
nested stages (``Pipeline.stages``, ``OneVsRest.classifier``, a tuner's ``estimator``, ...).
Pure Python; the JVM side of the same walk is :func:`sparktpe.boundary.java_stages`.
"""

from pyspark.ml.base import Estimator, Transformer


def is_stage(value):
    """True for a Spark ML stage: an Estimator or a Transformer (a Model is one)."""
    return isinstance(value, (Estimator, Transformer))


def stage_values(value):
    """The stages a Param value holds: the value itself if it is a stage, the stages of a list
    or tuple, else none."""
    if is_stage(value):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if is_stage(v)]
    return []


def all_stages(*roots):
    """Each root and, recursively, every stage its Params hold, outermost first, each once.

    Parameters
    ----------
    *roots : pyspark.ml.Estimator or Transformer
        Typically the tuned estimator, then stages a grid or search space brings in.

    Returns
    -------
    list
        The stages in depth-first order (a stage reached twice is listed once).
    """
    found, seen = [], set()

    def visit(stage):
        if id(stage) in seen:
            return
        seen.add(id(stage))
        found.append(stage)
        for param in stage.params:
            if stage.isDefined(param):
                for nested in stage_values(stage.getOrDefault(param)):
                    visit(nested)

    for root in roots:
        visit(root)
    return found


def grid_stages(grid):
    """Stages that are values in a grid (e.g. alternatives for ``ovr.classifier`` or for a
    Pipeline's ``stages``), in first-seen order."""
    found = {}
    for param_map in grid or []:
        for value in param_map.values():
            for stage in stage_values(value):
                found.setdefault(id(stage), stage)
    return list(found.values())


def owner_of(estimator, param, extra=()):
    """The stage that owns ``param``: a stage nested in the estimator or in ``extra`` (stages
    a conditional search space brings in).

    Raises
    ------
    ValueError
        When the Param belongs to no such stage (e.g. a Param of another instance).
    """
    stages = all_stages(estimator, *extra)
    for stage in stages:
        if stage.uid == param.parent and stage.hasParam(param.name):
            return stage
    uids = ", ".join(sorted({s.uid for s in stages}))
    raise ValueError(
        f"Param {param.parent}.{param.name} belongs to no stage of the estimator "
        f"{estimator.uid}; tunable stages are {uids}")


def check_jvm_twins(owner, stages):
    """Refuse stages that exist only in Python (no ``_to_java``): sparktpe runs every fit in
    the JVM, so such a stage could not be fitted there.

    Raises
    ------
    ValueError
        Naming the first such stage (uid and class) and why.
    """
    for stage in stages:
        if not callable(getattr(stage, "_to_java", None)):
            cls = type(stage)
            raise ValueError(
                f"{owner.uid}: stage {stage.uid} ({cls.__module__}.{cls.__qualname__}) is a "
                "Python-only stage with no JVM implementation; sparktpe fits every trial in the "
                "JVM, so each stage (and the evaluator) must be a JVM-backed Spark ML class such "
                "as those of pyspark.ml. Tune Python-only stages (e.g. xgboost.spark estimators) "
                "with pyspark.ml.tuning.CrossValidator")
