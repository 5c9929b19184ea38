package sparktpe

import org.apache.spark.ml.{Estimator, PipelineStage}
import org.apache.spark.ml.evaluation.Evaluator
import org.apache.spark.ml.param._

/**
 * The Params every sparktpe tuner shares. Names, meanings and defaults follow Spark's
 * `CrossValidator`; the search Params (`searchAlgorithm`, `maxEvals`, `searchSpace`) are new.
 *
 * Params carry no Spark validator on purpose: Spark's generic "given invalid value" message
 * does not say what is allowed. [[TuningParams.validateTuningParams]] checks every value with a
 * message naming the Param, the value and the allowed range, before any Spark job starts.
 */
trait TuningParams extends Params {

  /** The estimator (a single stage or a `Pipeline`) to tune. Required. */
  final val estimator: Param[Estimator[_]] =
    new Param(this, "estimator", "estimator to tune (a single stage or a Pipeline)")

  /** The grid of settings, as Spark's `ParamGridBuilder` builds it. */
  final val estimatorParamMaps: Param[Array[ParamMap]] = new Param(
    this, "estimatorParamMaps",
    "grid of param maps; in tpe or random mode with no searchSpace its values form the space")

  /** Scores a fitted model on held-out data. Required. */
  final val evaluator: Param[Evaluator] =
    new Param(this, "evaluator", "evaluator used to select hyper-parameters")

  /** Random seed for folds and for proposals. Default: hash of the class name, as in Spark. */
  final val seed: LongParam = new LongParam(this, "seed", "random seed")

  /** How many (trial, fold) fits run at once (>= 1). Default 1. */
  final val parallelism: IntParam = new IntParam(this, "parallelism",
    "number of (trial, fold) fits in flight at once (>= 1)")

  /** Keep every fold's model in the fitted tuner model. Default false. */
  final val collectSubModels: BooleanParam = new BooleanParam(this, "collectSubModels",
    "whether to keep every fitted sub-model (memory grows with trials x folds)")

  /** How proposals are made: "grid", "random" or "tpe". */
  final val searchAlgorithm: Param[String] = new Param(this, "searchAlgorithm",
    "how trials are proposed: grid, random or tpe. Default: tpe when a searchSpace is set, " +
      "grid otherwise")

  /** How many trials to evaluate (>= 1). Default: the grid's size when a grid is set. */
  final val maxEvals: IntParam = new IntParam(this, "maxEvals",
    "number of trials (parameter settings) to evaluate (>= 1); default: the whole grid")

  /** Scala search space for random search; see [[SearchSpace]]. */
  final val searchSpace: Param[SearchSpace] =
    new Param(this, "searchSpace", "search space: the Params to search (of the estimator or " +
      "any Pipeline stage) and their distributions; Python: a dict of Hyperopt expressions, " +
      "Scala: a SearchSpace")

  /** Wall-clock budget of the whole search in seconds (> 0); unset: none. */
  final val timeout: DoubleParam = new DoubleParam(this, "timeout",
    "seconds the whole search may take (> 0): then no new trial starts, running fits are " +
      "cancelled and the best finished trial wins; unset: no limit")

  /** Stop after this many finished trials in a row without improvement (>= 1); unset: never. */
  final val earlyStopRounds: IntParam = new IntParam(this, "earlyStopRounds",
    "stop after this many finished trials in a row that do not improve the best metric by more " +
      "than earlyStopTolerance (>= 1); unset: never")

  /** Relative improvement that counts for `earlyStopRounds` (>= 0). Default 0. */
  final val earlyStopTolerance: DoubleParam = new DoubleParam(this, "earlyStopTolerance",
    "relative improvement of the best metric that resets earlyStopRounds (>= 0)")

  /** Stop as soon as the best metric reaches this value (in the evaluator's direction). */
  final val targetMetric: DoubleParam = new DoubleParam(this, "targetMetric",
    "stop as soon as the best metric reaches this value (>= it when larger is better, <= " +
      "otherwise); unset: never")

  /**
   * Fold-level pruning: "none" (default) or "median", the median stopping rule of Golovin et al.,
   * "Google Vizier", KDD 2017 (also Optuna's `MedianPruner`), applied to folds: after each fold,
   * a trial whose mean over its evaluated folds is worse than the median of the finished
   * trials' means over the same folds starts no more folds and is recorded as "pruned". With
   * `parallelism > 1` a trial's next fold then waits for that verdict, while free threads start
   * new trials (asynchronous successive halving over folds; see [[MedianPruning]]).
   */
  final val pruning: Param[String] = new Param(this, "pruning",
    "fold-level pruning: none, or median (after each fold, a trial whose mean over the folds " +
      "evaluated so far is worse than the median of the finished trials' means over the same " +
      "folds starts no more folds and is recorded as pruned)")

  /** Finished trials needed before the pruning rule applies (>= 1). Default 5. */
  final val pruningMinTrials: IntParam = new IntParam(this, "pruningMinTrials",
    "finished trials needed before a trial can be pruned (>= 1)")

  /**
   * Trials of an earlier search to continue from, as JSON (a tuned model's `trialsJson`). They
   * come first in trial order, the proposer hears them before its first proposal (TPE models
   * them, grid search skips their settings, random search continues its sequence), and
   * `maxEvals` more trials follow. Their metrics only compare with new ones on the same data,
   * folds (`seed`/`foldCol`) and evaluator. Unset: start afresh.
   */
  final val initialTrials: Param[String] = new Param(this, "initialTrials",
    "trials of an earlier search to continue from (JSON, as a tuned model's trialsJson); they " +
      "come first in trial order, the proposer hears them, then maxEvals more trials run")

  def getInitialTrials: String = $(initialTrials)

  /** The initial trials, parsed against the estimator's Params (empty when unset). */
  private[sparktpe] def initialTrialResults: Seq[TrialResult] = get(initialTrials) match {
    case None => Nil
    case Some(json) =>
      val parsed = try org.json4s.jackson.JsonMethods.parse(json) catch {
        case scala.util.control.NonFatal(e) => bad(initialTrials, json.take(80) + "...",
          s"JSON as a tuned model's trialsJson gives (${e.getMessage})")
      }
      val trials = try TunerPersistence.trialsFrom(parsed, knownParams()) catch {
        case e: IllegalArgumentException => bad(initialTrials, json.take(80) + "...",
          s"trials of a search over this estimator's stages: ${e.getMessage}")
      }
      trials.zipWithIndex.map { case (t, i) => t.copy(trialId = i) }
  }

  /**
   * Stages an external proposer may put into the estimator (alternatives of `pipeline.stages`
   * in a Python search space); [[SearchEstimator]] keeps them. None here.
   */
  private[sparktpe] def candidateStageList: Seq[PipelineStage] = Nil

  /**
   * Every Param a setting of this tuner may touch: those of every stage nested in the estimator,
   * of the stages that grid settings and space choices use as values, of the candidate stages,
   * and of the stages `moreSettings` use as values (a model's trials).
   */
  private[sparktpe] def knownParams(moreSettings: Seq[(Param[Any], Any)] = Nil): EstimatorParams = {
    val gridStages = get(estimatorParamMaps).toSeq.flatten
      .flatMap(m => EstimatorParams.stagesInSettings(TrialResult.entries(m, Nil)))
    val spaceStages = get(searchSpace).toSeq.flatMap(_.dimensions).flatMap {
      case SearchSpace.Choice(_, values) => values.flatMap(EstimatorParams.stagesIn)
      case _ => Nil
    }
    new EstimatorParams($(estimator), gridStages ++ spaceStages ++ candidateStageList ++
      EstimatorParams.stagesInSettings(moreSettings))
  }

  /**
   * The (Param, value) entries of `map` (one of this tuner's `estimatorParamMaps`), each as a
   * two-element array, invalid values included: a model's map holds what each trial ran with,
   * and Spark's `ParamMap.toSeq`/`toList` throw for an invalid value (its `ParamPair` validates).
   * For the Python wrapper, which reads the maps through py4j.
   */
  def paramMapEntries(map: ParamMap): java.util.List[Array[Any]] = {
    val trialSettings = this match {
      case results: SearchResults => results.trialResults.flatMap(_.settings)
      case _ => Nil
    }
    val entries = TrialResult.entries(map, knownParams(trialSettings).allParams)
    java.util.Arrays.asList(entries.map { case (p, v) => Array[Any](p, v) }: _*)
  }

  def getPruning: String = $(pruning)
  def getPruningMinTrials: Int = $(pruningMinTrials)

  /** The pruning rule in force: Some(minimum finished trials) for "median", None for "none". */
  private[sparktpe] def pruneAfter: Option[Int] =
    if ($(pruning) == "median") Some($(pruningMinTrials)) else None

  def getTimeout: Double = $(timeout)
  def getEarlyStopRounds: Int = $(earlyStopRounds)
  def getEarlyStopTolerance: Double = $(earlyStopTolerance)
  def getTargetMetric: Double = $(targetMetric)

  /** The stop rules these Params ask for. */
  private[sparktpe] def stopRules: StopRules =
    StopRules(get(timeout), get(earlyStopRounds), $(earlyStopTolerance), get(targetMetric))

  @transient @volatile private var pythonSearchSpace: String = null

  /**
   * The Python wrapper's Hyperopt search space as JSON (null if none). The JVM does not read
   * it; it keeps it so that a saved tuner or model carries the space across languages.
   */
  /**
   * Draw a progress bar (trials finished / maxEvals, best metric, elapsed seconds) while
   * fitting. Used by the Python wrapper, which draws it with `tqdm` only when stderr is a
   * terminal or a notebook runs; the JVM logs one INFO line per finished trial either way.
   * Default true.
   */
  final val showProgress: BooleanParam = new BooleanParam(this, "showProgress",
    "draw a progress bar while fitting, when interactive (Python wrapper)")

  /**
   * Log the search to MLflow (Python wrapper): one parent run, one child run per trial.
   * Unset (default): log when the `mlflow` package is installed and a run is active; true:
   * always (starting a run if none is active); false: never. The JVM ignores it.
   */
  final val mlflowLogging: BooleanParam = new BooleanParam(this, "mlflowLogging",
    "log the search to MLflow, one child run per trial (Python wrapper); unset: when a run is active")

  /**
   * Stage reuse (see [[StageReuse]]). When true (default) and the estimator is a `Pipeline`,
   * its leading stages that no setting of the search touches are fitted once per fold (the
   * final refit fits them once on the whole input, as `Pipeline.fit` does), and their output on
   * each fold's training and validation rows is cached for the search, so each trial fits only
   * the stages after them; with no such stages, each fold's training and validation rows are
   * cached. When the first tuned stage has stages after it, its output is cached too, per fold
   * and per setting of it (at most [[StageReuse.KeyedOutputsPerFold]] per fold, least recently
   * used dropped). Results are the same either way. Costs memory: about `numFolds` times the
   * input's cached size (times the untuned stages' output size over the input's; up to that
   * again per kept setting), released when `fit` ends, however it ends. False: every trial fits every stage on rows drawn afresh from the cached input, as
   * Spark's `CrossValidator` does (only the input is cached).
   */
  final val reuseUntunedStages: BooleanParam = new BooleanParam(this, "reuseUntunedStages",
    "fit the leading Pipeline stages that no setting touches once per fold and cache their " +
      "output (else each fold's rows) for the search; false: refit every stage in every trial")

  def getReuseUntunedStages: Boolean = $(reuseUntunedStages)

  def getShowProgress: Boolean = $(showProgress)
  def getMlflowLogging: Boolean = $(mlflowLogging)

  def getPythonSearchSpaceJson: String = pythonSearchSpace
  def setPythonSearchSpaceJson(json: String): this.type = { pythonSearchSpace = json; this }

  setDefault(seed -> this.getClass.getName.hashCode.toLong, parallelism -> 1,
    collectSubModels -> false, earlyStopTolerance -> 0.0,
    pruning -> "none", pruningMinTrials -> 5, showProgress -> true, reuseUntunedStages -> true)

  def getEstimator: Estimator[_] = $(estimator)
  def getEstimatorParamMaps: Array[ParamMap] = $(estimatorParamMaps)
  def getEvaluator: Evaluator = $(evaluator)
  def getSeed: Long = $(seed)
  def getParallelism: Int = $(parallelism)
  def getCollectSubModels: Boolean = $(collectSubModels)
  def getSearchSpace: SearchSpace = $(searchSpace)

  /** The algorithm in force: the set value, else "tpe" with a space, else "grid". */
  def getSearchAlgorithm: String =
    get(searchAlgorithm).getOrElse(if (isDefined(searchSpace)) "tpe" else "grid")

  /** The trial budget in force; throws if none can be derived. */
  def getMaxEvals: Int = get(maxEvals).orElse(get(estimatorParamMaps).map(_.length)).getOrElse(
    throw new IllegalArgumentException(
      s"$uid: maxEvals is not set; it must be set (>= 1) when there is no estimatorParamMaps"))

  /** True when an external [[TrialProposer]] will propose (it then owns the search space). */
  protected def hasExternalProposer: Boolean = false

  protected def bad(param: Param[_], value: Any, allowed: String): Nothing =
    throw new IllegalArgumentException(
      s"$uid: ${param.name} = ${TuningParams.show(value)} is not allowed: $allowed")

  /** Checks every tuning Param; throws IllegalArgumentException naming the first bad one. */
  def validateTuningParams(): Unit = {
    if (!isDefined(estimator)) bad(estimator, "unset", "an Estimator must be set")
    if (!isDefined(evaluator)) bad(evaluator, "unset", "an Evaluator must be set")
    if ($(parallelism) < 1) bad(parallelism, $(parallelism), "parallelism must be >= 1")
    val algorithm = getSearchAlgorithm
    if (!TuningParams.algorithms.contains(algorithm)) {
      bad(searchAlgorithm, algorithm, TuningParams.algorithms.mkString("one of ", ", ", ""))
    }
    get(maxEvals).foreach(n => if (n < 1) bad(maxEvals, n, "maxEvals must be >= 1"))
    get(timeout).foreach(t => if (!(t > 0)) bad(timeout, t, "timeout must be > 0 seconds"))
    get(earlyStopRounds).foreach(n => if (n < 1) bad(earlyStopRounds, n, "earlyStopRounds must be >= 1"))
    if (!($(earlyStopTolerance) >= 0)) {
      bad(earlyStopTolerance, $(earlyStopTolerance), "earlyStopTolerance must be >= 0")
    }
    if (!TuningParams.pruningRules.contains($(pruning))) {
      bad(pruning, $(pruning), TuningParams.pruningRules.mkString("one of ", ", ", ""))
    }
    if ($(pruningMinTrials) < 1) bad(pruningMinTrials, $(pruningMinTrials), "pruningMinTrials must be >= 1")
    initialTrialResults
    get(estimatorParamMaps).foreach { grid =>
      if (grid.isEmpty) bad(estimatorParamMaps, "[]", "at least one ParamMap")
    }
    algorithm match {
      case "grid" =>
        if (!isDefined(estimatorParamMaps)) {
          bad(estimatorParamMaps, "unset", "grid search needs estimatorParamMaps")
        }
      case "random" =>
        if (!isDefined(estimatorParamMaps) && !isDefined(searchSpace) && !hasExternalProposer) {
          bad(searchSpace, "unset", "random search needs a searchSpace or estimatorParamMaps")
        }
      case _ =>
    }
    get(searchSpace).foreach { space =>
      if (space.dimensions.isEmpty) bad(searchSpace, "empty", "at least one Param to search")
    }
    getMaxEvals
    val known = knownParams()
    get(estimatorParamMaps).foreach(_.foreach(_.toSeq.foreach(pair => known.require(pair.param))))
    get(searchSpace).foreach(_.dimensions.foreach(d => known.require(d.param)))
  }
}

private[sparktpe] object TuningParams {
  val algorithms: Seq[String] = Seq("grid", "random", "tpe")
  val pruningRules: Seq[String] = Seq("none", "median")

  def show(value: Any): String = value match {
    case s: String => s
    case other => String.valueOf(other)
  }
}
