"""The py4j boundary: every conversion between sparktpe's Python objects and the JVM's.

Params and ParamMaps, stage values (estimators as grid values, a Pipeline's ``stages``),
grids, sub-models, the JVM's results and its ``SearchException`` all cross here; the rest of
the package calls these functions and never converts by itself.

Stages cross as PySpark's tuners send them: a Python stage becomes its JVM twin through
``_to_java()`` (never pickled), and a JVM stage that comes back is matched by uid to the
user's own Python stage, so ``model.getEstimatorParamMaps()`` holds the objects the user
passed. A JVM stage with no Python twin at hand (a loaded model) is wrapped with
``JavaParams._from_java``.
"""

from py4j.java_collections import JavaArray
from py4j.java_gateway import JavaObject

from pyspark.ml.common import _java2py, _py2java
from pyspark.ml.wrapper import JavaParams, JavaWrapper

from sparktpe.errors import SearchError, SearchInterrupted
from sparktpe.space_json import space_from_json
from sparktpe.stages import all_stages, is_stage

_STAGE_CLASS = "org.apache.spark.ml.PipelineStage"
_SEARCH_EXCEPTION = "sparktpe.SearchException"


def _context():
    from pyspark import SparkContext
    return SparkContext._active_spark_context


def _stage_test(sc):
    """A test for "is this py4j value a JVM PipelineStage" (the JVM class looked up once)."""
    stage_class = sc._jvm.java.lang.Class.forName(_STAGE_CLASS)
    return lambda value: isinstance(value, JavaObject) and stage_class.isInstance(value)


def java_stages(java_root):
    """uid -> JVM stage for a JVM stage and, recursively, every stage its Params hold
    (a Pipeline's stages, OneVsRest's classifier, a tuner's estimator, ...).

    The JVM twin of :func:`sparktpe.stages.all_stages`: the same walk over the JVM objects
    that ``_to_java()`` built, so each Python Param can be matched with its JVM Param by uid.
    """
    is_java_stage = _stage_test(_context())
    found = {}

    def visit(stage):
        uid = stage.uid()
        if uid in found:
            return
        found[uid] = stage
        for java_param in stage.params():
            if not stage.isDefined(java_param):
                continue
            value = stage.getOrDefault(java_param)
            values = list(value) if isinstance(value, JavaArray) else [value]
            for nested in values:
                if is_java_stage(nested):
                    visit(nested)

    visit(java_root)
    return found


def java_param(java_by_uid, param):
    """The JVM Param of a Python Param, found among ``java_by_uid`` (uid -> JVM stage)."""
    return java_by_uid[param.parent].getParam(param.name)


def stages_to_java(sc, stages):
    """A JVM ``PipelineStage[]`` holding each stage's JVM twin."""
    array = sc._gateway.new_array(sc._jvm.org.apache.spark.ml.PipelineStage, len(stages))
    for i, stage in enumerate(stages):
        array[i] = stage._to_java()
    return array


def value_to_java(sc, param, value):
    """A Param value for the JVM: a stage as its JVM twin, a list of stages as a
    ``PipelineStage[]``, anything else typed by the Param's converter, then ``_py2java``."""
    if is_stage(value):
        return value._to_java()
    if isinstance(value, (list, tuple)) and value and all(is_stage(v) for v in value):
        return stages_to_java(sc, value)
    return _py2java(sc, param.typeConverter(value))


def is_valid(java_by_uid, param, value):
    """Whether the JVM Param's validator accepts ``value`` (typed by the Python converter)."""
    sc = _context()
    jparam = java_param(java_by_uid, param)
    return bool(jparam.isValid().apply(_py2java(sc, param.typeConverter(value))))


def grid_to_java(sc, grid, java_by_uid):
    """A list of Python ParamMaps (e.g. from ``ParamGridBuilder``) as a JVM ``ParamMap[]``."""
    java_grid = sc._gateway.new_array(sc._jvm.org.apache.spark.ml.param.ParamMap, len(grid))
    for i, param_map in enumerate(grid):
        java_map = JavaWrapper._new_java_obj("org.apache.spark.ml.param.ParamMap")
        for param, value in param_map.items():
            java_map.put([java_param(java_by_uid, param).w(value_to_java(sc, param, value))])
        java_grid[i] = java_map
    return java_grid


def stage_from_java(java_stage):
    """The Python wrapper of a JVM stage or evaluator (PySpark's own ``_from_java``)."""
    return JavaParams._from_java(java_stage)


def _value_from_java(sc, by_uid, value, is_java_stage):
    """A JVM Param value as Python: stages as the user's own objects (by uid), else wrapped."""
    def stage(java_stage):
        known = by_uid.get(java_stage.uid())
        return known if known is not None else stage_from_java(java_stage)

    if isinstance(value, JavaArray) and len(value) > 0 and is_java_stage(value[0]):
        return [stage(v) for v in value]
    if is_java_stage(value):
        return stage(value)
    return _java2py(sc, value)


def param_map_from_java(sc, by_uid, java_owner, java_map):
    """A JVM ParamMap (one of ``java_owner``'s ``estimatorParamMaps``) as a Python one, with the
    Params of the Python stages ``by_uid``. Read through ``TuningParams.paramMapEntries``, which
    keeps a failed trial's invalid value (``ParamMap.toList`` would throw for it)."""
    result = {}
    is_java_stage = _stage_test(sc)
    for entry in java_owner.paramMapEntries(java_map):
        jparam, value = entry[0], entry[1]
        owner = by_uid[jparam.parent()]
        result[owner.getParam(jparam.name())] = _value_from_java(sc, by_uid, value, is_java_stage)
    return result


_SIMPLE = ("numFolds", "foldCol", "trainRatio", "seed", "parallelism", "collectSubModels",
           "searchAlgorithm", "maxEvals", "timeout", "earlyStopRounds", "earlyStopTolerance",
           "targetMetric", "pruning", "pruningMinTrials", "initialTrials", "showProgress",
           "mlflowLogging", "reuseUntunedStages")


def params_from_java(sc, target, java_obj, stages):
    """Copy the Params set on a JVM tuner or model to its Python twin ``target``; the grid's
    and the search space's Params (and stage values) resolve against the Python ``stages``."""
    by_uid = {s.uid: s for s in all_stages(*stages)}
    for name in _SIMPLE:
        if target.hasParam(name) and java_obj.isSet(java_obj.getParam(name)):
            target._set(**{name: _java2py(sc, java_obj.getOrDefault(java_obj.getParam(name)))})
    if java_obj.isSet(java_obj.getParam("estimatorParamMaps")):
        target._set(estimatorParamMaps=[param_map_from_java(sc, by_uid, java_obj, m)
                                        for m in java_obj.getEstimatorParamMaps()])
    space = java_obj.getPythonSearchSpaceJson()
    if space is not None:
        target._set(searchSpace=space_from_json(space, lambda uid, name: by_uid[uid].getParam(name)))


def sub_models_from_java(java_model):
    """``[fold][trial]`` Python models of a JVM tuned model (TrainValidationSplit: one
    "fold"); None where a fit did not finish, None for all when it kept no sub-models."""
    if not java_model.hasSubModels():
        return None
    folds = java_model.subModels()
    if java_model.getClass().getName() == "sparktpe.BayesianTrainValidationSplitModel":
        folds = [folds]
    return [[stage_from_java(m) if m is not None else None for m in fold] for fold in folds]


def trials_table(java_trials):
    """A JVM trials DataFrame (a model's ``trials`` or ``SearchException.trialsTable``) as a
    DataFrame of the active session."""
    from pyspark.sql import DataFrame, SparkSession
    return DataFrame(java_trials, SparkSession.active())


def _search_exception(error):
    """The JVM ``SearchException`` behind a py4j error (itself or a cause), or None."""
    # py4j's Py4JJavaError has it as java_exception; PySpark's converted errors as _origin.
    java_error = getattr(error, "java_exception", None) or getattr(error, "_origin", None)
    while java_error is not None:
        if java_error.getClass().getName() == _SEARCH_EXCEPTION:
            return java_error
        java_error = java_error.getCause()
    return None


def search_error(error, proposer_error=None, proposer_traceback=None):
    """The exception ``fit`` raises for an error of the JVM search, or ``error`` itself when
    the JVM did not end the search with a ``SearchException`` (e.g. a bad input it refused).

    Parameters
    ----------
    error : BaseException
        What the JVM ``fit`` call raised (a ``Py4JJavaError``).
    proposer_error : BaseException, optional
        The exception the Hyperopt proposer raised, which made the JVM end the search.
    proposer_traceback : str, optional
        Its formatted Python traceback, put in the message.

    Returns
    -------
    BaseException
        A :class:`SearchError` carrying the trials of the JVM's ``SearchException``.
    """
    java_error = _search_exception(error)
    trials, trials_json = _trials_of(java_error)
    if proposer_error is not None:
        return SearchError("the search stopped because the Hyperopt proposer raised "
                           f"{type(proposer_error).__name__}: {proposer_error}\n"
                           f"Python traceback:\n{proposer_traceback}", trials, trials_json)
    if java_error is not None:
        return SearchError(str(java_error.getMessage()), trials, trials_json)
    return error


def interrupted(outcome_error=None, java_model=None, abandoned=False):
    """The :class:`SearchInterrupted` for a Ctrl-C during ``fit``, with the trials of the JVM
    search: those of its ``SearchException`` (``outcome_error``), or of the model it returned
    when it had just finished; none when the wait for the JVM was ``abandoned``."""
    if abandoned:
        return SearchInterrupted("interrupted twice: stopped waiting for the cancelled search "
                                 "to return (its Spark jobs are cancelled; its trials are lost)")
    if java_model is not None:
        return SearchInterrupted("interrupted as the search finished",
                                 trials_table(java_model.trials()), java_model.trialsJson())
    trials, trials_json = _trials_of(_search_exception(outcome_error))
    return SearchInterrupted("the search was cancelled by Ctrl-C (KeyboardInterrupt)",
                             trials, trials_json)


def _trials_of(java_error):
    if java_error is None:
        return None, None
    return trials_table(java_error.trialsTable()), java_error.trialsJson()
