package sparktpe

import java.util.concurrent.ConcurrentHashMap

import scala.jdk.CollectionConverters._

import org.apache.spark.internal.Logging
import org.apache.spark.ml.{Model, PipelineStage}
import org.apache.spark.ml.param.{ParamMap, ParamPair}
import org.apache.spark.sql.types.StructType
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.storage.StorageLevel

/** What one search produced: every trial, the best one, and its model refitted on all the input. */
private[sparktpe] final case class SearchRun(
    outcome: SearchOutcome,
    best: TrialResult,
    bestModel: Model[_],
    subModels: Option[Array[Array[Model[_]]]])

/**
 * The search machinery both tuners share (cross-validation and a single train/validation split
 * differ only in their splits): choosing the proposer, caching the input, running the
 * [[TrialScheduler]] with this fit's job tags, refitting the best trial, cancellation and progress.
 */
trait SearchEstimator extends TuningParams with Logging {

  @transient @volatile private var trialProposer: Option[TrialProposer] = None

  /**
   * Sets an external proposer (JSON protocol of [[TrialProposer]]); it then proposes every
   * trial unless `searchAlgorithm` is "grid". The Python wrapper sets Hyperopt's TPE here.
   */
  def setTrialProposer(value: TrialProposer): this.type = { trialProposer = Option(value); this }

  override protected def hasExternalProposer: Boolean = trialProposer.isDefined

  @transient @volatile private var candidateStages: Seq[PipelineStage] = Nil

  /**
   * Stages an external proposer may put into the estimator (alternatives of `pipeline.stages`
   * in a conditional search space); proposals name them by uid. Set by the Python wrapper.
   */
  def setCandidateStages(stages: Array[PipelineStage]): this.type = {
    candidateStages = Option(stages).map(_.toSeq).getOrElse(Nil)
    this
  }

  /** The stages set by [[setCandidateStages]]. */
  def getCandidateStages: Array[PipelineStage] = candidateStages.toArray

  override private[sparktpe] def candidateStageList: Seq[PipelineStage] = candidateStages

  @transient @volatile private var proposerTimeoutSeconds = ProposerThread.DefaultTimeoutSeconds

  /**
   * How long one call of the external proposer ([[setTrialProposer]]) may take, in seconds
   * (default 600). A call that takes longer fails the search with a [[SearchException]] that
   * says so and carries the trials.
   * @throws IllegalArgumentException unless `seconds` is > 0
   */
  def setProposerTimeout(seconds: Double): this.type = {
    if (!(seconds > 0) || seconds.isInfinite) throw new IllegalArgumentException(
      s"proposerTimeout = $seconds is not allowed: must be a finite number of seconds > 0")
    proposerTimeoutSeconds = seconds
    this
  }

  def getProposerTimeout: Double = proposerTimeoutSeconds

  @transient @volatile private var proposerParams: Option[Seq[(String, String)]] = None

  /**
   * The Params the external proposer ([[setTrialProposer]]) may set, as JSON
   * `[{"parent": stageUid, "name": paramName}, ...]`; null: unknown. Stage reuse
   * (`reuseUntunedStages`) fits once per fold the leading Pipeline stages none of them belongs
   * to; while this is unknown, an external proposer may set any Param, so no stage is reused.
   * The Python wrapper sets the Params of its search space here.
   * @throws IllegalArgumentException for JSON of another shape
   */
  def setProposerParams(json: String): this.type = {
    proposerParams = Option(json).map { text =>
      val parsed = try org.json4s.jackson.JsonMethods.parse(text) catch {
        case scala.util.control.NonFatal(e) => throw new IllegalArgumentException(
          s"proposerParams = ${text.take(80)} is not allowed: JSON [{\"parent\": uid, \"name\": name}, ...] (${e.getMessage})")
      }
      parsed.children.map { item =>
        (item \ "parent", item \ "name") match {
          case (org.json4s.JString(parent), org.json4s.JString(name)) => (parent, name)
          case _ => throw new IllegalArgumentException(s"proposerParams = ${text.take(80)} is not " +
            "allowed: each entry must be {\"parent\": stageUid, \"name\": paramName}")
        }
      }
    }
    this
  }

  protected def copyTrialProposerTo(other: SearchEstimator): Unit = {
    trialProposer.foreach(other.setTrialProposer)
    other.setCandidateStages(candidateStages.toArray)
    other.setProposerTimeout(proposerTimeoutSeconds)
    other.proposerParams = proposerParams
  }

  /**
   * The uids of the stages whose Params some setting of this search may set: the grid's, the
   * Scala space's, the initial trials' (retried ones run again) and the external proposer's
   * declared Params ([[setProposerParams]]). None when an external proposer proposes and has
   * declared nothing: then any Param may be set.
   */
  private def touchedStages(initial: Seq[TrialResult]): Option[Set[String]] = {
    val external = trialProposer.isDefined && getSearchAlgorithm != "grid"
    val declared = if (external) proposerParams.map(_.map(_._1)) else Some(Nil)
    declared.map { fromProposer =>
      (get(estimatorParamMaps).toSeq.flatten.flatMap(m => TrialResult.entries(m, Nil).map(_._1.parent)) ++
        get(searchSpace).toSeq.flatMap(_.dimensions.map(_.param.parent)) ++
        initial.flatMap(_.settings.map(_._1.parent)) ++ fromProposer).toSet
    }
  }

  // The fits of this instance in progress, registered as the first thing each fit does.
  @transient private lazy val fits = ConcurrentHashMap.newKeySet[FitControl]()
  // Their schedulers, once the search has begun (for progress).
  @transient private lazy val running = ConcurrentHashMap.newKeySet[TrialScheduler]()

  /**
   * Cancels every fit of this instance in progress, at whatever step it is: no new trials, its
   * running Spark jobs cancelled and any job it starts later cancelled at once. Each such `fit`
   * throws a [[SearchException]] ("the search was cancelled: ...") carrying its trials. Later
   * fits are not affected.
   */
  def cancel(): Unit = fits.forEach(_.cancel("cancel() was called"))

  // The last search's final progress, so a progress bar can draw its end state after `fit`.
  @transient @volatile private var finalProgress: Option[(Int, Int, Double)] = None

  /**
   * Progress of the running (else the last) search as JSON
   * `{"finished": n, "total": maxEvals, "best": metric}` (`best` null until a trial succeeds;
   * all zero before any search). For progress bars.
   */
  def progressJson(): String = {
    val (finished, total, best) = running.asScala.headOption.map(_.progress).orElse(finalProgress)
      .getOrElse((0, 0, Double.NaN))
    s"""{"finished": $finished, "total": $total, "best": ${if (best.isNaN) "null" else best.toString}}"""
  }

  /** Checks that "tpe" has a proposer to call; part of the checks made before any job. */
  protected def checkProposer(): Unit =
    if (getSearchAlgorithm == "tpe" && trialProposer.isEmpty) {
      bad(searchAlgorithm, "tpe", "tpe needs Hyperopt: use the sparktpe Python wrapper, or " +
        "setTrialProposer; in Scala use grid or random")
    }

  /**
   * Runs a whole `fit` (`body`, from its Param checks on) as one cancellable unit: registers it
   * for [[cancel]] first, and tags every Spark job it starts with its [[FitControl.fitTag]],
   * keeping the caller's job group and other local properties.
   * @throws SearchException when the fit is cancelled at any step, carrying the trials so far
   */
  protected def cancellableFit[M](dataset: Dataset[_])(body: FitControl => M): M = {
    val sc = dataset.sparkSession.sparkContext
    val control = new FitControl(sc, uid)
    fits.add(control)
    try SparkJobs.withTags(sc, Seq(control.fitTag), s"sparktpe $uid: preparing the search") {
      try body(control) catch {
        case e: SearchException => throw e
        case e: Throwable if control.cancelReason.nonEmpty || SparkJobs.isJobCancellation(e) =>
          val why = control.cancelReason.getOrElse(s"a Spark job of this fit was cancelled: ${e.getMessage}")
          throw control.cancelledError(why, scala.util.Try(initialTrialResults).getOrElse(Nil), e)
      }
    } finally fits.remove(control)
  }

  /**
   * Runs a whole search over `splits` of the input (cached for the search unless it already
   * is) and refits the best trial on all of it.
   *
   * @param control  this fit's cancellation and job tags (from [[cancellableFit]])
   * @param split    makes the (training, validation) pairs from the cached input
   * @param describe the Spark UI description of a work item's jobs
   * @throws SearchException carrying every trial when the search is cancelled, the proposer
   *                         fails, a fit dies of a fatal error, no trial succeeds, or the
   *                         refit of the best trial fails or is cancelled
   */
  protected def search(
      control: FitControl,
      dataset: Dataset[_],
      split: DataFrame => Array[(DataFrame, DataFrame)],
      describe: FoldTask => String): SearchRun = {
    val df = dataset.toDF()
    val sc = df.sparkSession.sparkContext
    val est = $(estimator)
    val eval = $(evaluator)
    val keepModels = $(collectSubModels)
    val initial = initialTrialResults
    control.check(initial) // cancelled while the Params were checked
    val weCached = StageReuse.cache(df, s"sparktpe $uid input")
    var reuse: Option[StageReuse] = None
    try {
      val splits = SparkJobs.withTags(sc, Nil, s"sparktpe $uid: checking the folds")(split(df))
      initial.find(_.foldMetrics.length != splits.length).foreach { t =>
        bad(initialTrials, s"trial ${t.trialId} scored on ${t.foldMetrics.length} folds",
          s"trials scored on ${splits.length} fold(s), as this tuner scores them")
      }
      control.check(initial)
      if ($(reuseUntunedStages)) {
        val touched = touchedStages(initial)
        val prefix = StageReuse.untouchedPrefix(est, touched)
        val keyed = StageReuse.keyedStage(est, touched).nonEmpty
        logInfo(s"$uid: stage reuse: $prefix leading stage(s) fitted once per fold" +
          (if (keyed) s"; the output of stage ${prefix + 1} cached per setting" else ""))
        reuse = Some(new StageReuse(splits, est, prefix, keyed, uid))
      }
      val warmStart = WarmStart(initial)
      val scheduler = new TrialScheduler(splits.length, warmStart.carried.length + getMaxEvals,
        $(parallelism), eval.isLargerBetter, makeProposer(initial),
        runFold = task => {
          try SparkJobs.withTags(sc, Seq(control.trialsTag), describe(task)) {
            val in = reuse.map(_.input(task.fold, task.paramMap)).getOrElse {
              val (train, valid) = splits(task.fold)
              FoldInput(est, train, valid, identity)
            }
            try {
              val model = in.estimator.fit(in.train, task.paramMap).asInstanceOf[Model[_]]
              val metric = eval.evaluate(model.transform(in.valid, task.paramMap))
              FoldResult(metric, if (keepModels) Some(in.whole(model)) else None)
            } finally in.done()
          } catch {
            // Our jobs were cancelled, not by us: the caller's job group was cancelled, or
            // someone cancelled our jobs in the Spark UI. Spark's tuners end there: so do we.
            case e: Throwable if SparkJobs.isJobCancellation(e) && !control.trialJobsCancelled =>
              control.cancel(s"a Spark job of this fit was cancelled: ${e.getMessage}")
              throw e
          }
        },
        onJobsToCancel = () => control.cancelTrialJobs(),
        log = line => logInfo(s"$uid: $line"),
        rules = stopRules,
        pruning = pruneAfter.map(new MedianPruning(_, eval.isLargerBetter)),
        warmStart = warmStart)
      control.onCancel(reason => scheduler.cancel(reason))
      running.add(scheduler)
      try {
        val outcome = scheduler.run()
        control.check(outcome.trials) // cancelled as the last trials ended
        val best = SearchEstimator.bestTrial(outcome.trials, outcome.stopReason, eval.isLargerBetter)
        logInfo(s"$uid: ${outcome.trials.size} trials, stopped because ${outcome.stopReason}; " +
          s"best trial ${best.trialId + 1} metric ${best.metric}")
        val bestModel = refit(control, df, best, outcome.trials)
        control.check(outcome.trials) // cancelled while the refit's last job was finishing
        SearchRun(outcome, best, bestModel, if (keepModels) Some(scheduler.subModels) else None)
      } finally {
        finalProgress = Some(scheduler.progress)
        running.remove(scheduler)
      }
    } finally {
      reuse.foreach(_.release())
      if (weCached) SearchEstimator.uninterruptibly(df.unpersist())
    }
  }

  /**
   * Fits the best trial's setting on the whole input, as Spark's tuners do for `bestModel`.
   * @throws SearchException carrying `trials` when the refit fails or is cancelled
   */
  private def refit(control: FitControl, df: DataFrame, best: TrialResult, trials: Seq[TrialResult]): Model[_] = {
    val which = s"trial ${best.trialId + 1} (trialId ${best.trialId})"
    val sc = df.sparkSession.sparkContext
    try {
      SparkJobs.withTags(sc, Nil, s"sparktpe refit best trial ${best.trialId + 1}") {
        $(estimator).fit(df, best.paramMap).asInstanceOf[Model[_]]
      }
    } catch {
      case e: Throwable if control.cancelReason.nonEmpty || SparkJobs.isJobCancellation(e) ||
          e.isInstanceOf[InterruptedException] =>
        control.cancel(if (e.isInstanceOf[InterruptedException]) "the thread running fit was interrupted"
          else s"a Spark job of this fit was cancelled: ${e.getMessage}")
        if (e.isInstanceOf[InterruptedException]) Thread.currentThread().interrupt()
        throw control.cancelledError(
          s"${control.cancelReason.get} (during the refit of the best trial, $which, on the whole input)", trials, e)
      case e: Throwable =>
        throw new SearchException(s"the refit of the best trial, $which, on the whole input failed: " +
          s"${TrialScheduler.describe(e)}; the trials are kept (resume with setInitialTrials)", e, trials)
    }
  }

  /** Copies this estimator's Params to its model, with the search's resolved settings. */
  protected def describeSearch[M <: TuningParams](model: M, run: SearchRun): M = {
    copyValues(model)
    model.setPythonSearchSpaceJson(getPythonSearchSpaceJson)
    model.set(model.searchAlgorithm, getSearchAlgorithm)
      .set(model.maxEvals, getMaxEvals)
      // Each trial's settings as it ran them, invalid values included (see TrialResult.paramMap).
      .set(model.estimatorParamMaps, run.outcome.trials.map(_.paramMap).toArray)
    model
  }

  /**
   * The settings the estimator's schema is checked with before any Spark job, as Spark's tuners
   * check it with each grid setting applied (a Param with no default, such as `PCA.k`, may be
   * set only by the search): every grid setting for grid search and random search over a grid;
   * for random search over a [[SearchSpace]], one setting drawn with a Random of its own seeded
   * with `seed` (the first trial's setting; the search's own draws are untouched); for an external
   * proposer, its `example()`. Values that fail their Param's validation are left out (they fail
   * their trial, not the fit). One empty ParamMap when there is nothing to draw from.
   */
  protected def schemaCheckSettings: Seq[ParamMap] = {
    val grid = get(estimatorParamMaps).filter(_.nonEmpty)
    val maps: Seq[ParamMap] = (getSearchAlgorithm, trialProposer) match {
      case ("grid", _) => grid.toSeq.flatten
      case (_, Some(external)) =>
        val example = new JsonTrialProposer(external, knownParams())
        Seq(validOnly(ProposerThread.call(example.example())))
      case _ => get(searchSpace).filter(_.dimensions.nonEmpty) match {
        case Some(space) => Seq(validOnly(space.sample(new scala.util.Random($(seed)))))
        case None => grid.toSeq.flatten
      }
    }
    if (maps.isEmpty) Seq(ParamMap.empty) else maps
  }

  private def validOnly(settings: Seq[(org.apache.spark.ml.param.Param[Any], Any)]): ParamMap =
    ParamMap(settings.flatMap { case (p, v) => scala.util.Try(ParamPair(p, v)).toOption }: _*)

  /**
   * The estimator's output schema for `schema`, checked with each of [[schemaCheckSettings]]
   * applied (the first one's result is returned). With the estimator unset, `schema` as is:
   * `fit`'s validation names the missing Param.
   */
  protected def estimatorSchema(schema: StructType): StructType = get(estimator) match {
    case None => schema
    case Some(est) => schemaCheckSettings.map(m => est.copy(m).transformSchema(schema)).head
  }

  private def makeProposer(initial: Seq[TrialResult]): Proposer = (getSearchAlgorithm, trialProposer) match {
    case ("grid", _) =>
      val grid = $(estimatorParamMaps)
      new GridProposer(grid, grid.indices, initial)
    case (_, Some(external)) =>
      new OnProposerThread(new JsonTrialProposer(external, knownParams()), proposerTimeoutSeconds)
    case _ => get(searchSpace) match {
      case Some(space) => new RandomProposer(space, $(seed), skip = initial.length)
      case None =>
        val grid = $(estimatorParamMaps)
        new GridProposer(grid, new scala.util.Random($(seed)).shuffle(grid.indices.toVector), initial)
    }
  }
}

object SearchEstimator {
  /**
   * Runs clean-up `body` with this thread's interrupt flag cleared, then sets it again: a fit
   * ended by an interrupt still releases what it cached, and still throws its SearchException.
   */
  private[sparktpe] def uninterruptibly(body: => Unit): Unit = {
    val interrupted = Thread.interrupted()
    try body finally if (interrupted) Thread.currentThread().interrupt()
  }

  /**
   * The best successful trial (first of equals, as Spark's tuners pick).
   * @throws SearchException when no trial succeeded, with the first trial's error
   */
  private[sparktpe] def bestTrial(
      trials: Seq[TrialResult], stopReason: String, largerIsBetter: Boolean): TrialResult = {
    val ok = trials.filter(t => t.isOk && !t.metric.isNaN)
    if (ok.isEmpty) {
      val first = trials.find(_.status == TrialResult.Failed).flatMap(_.error)
        .getOrElse(s"none failed; the search stopped because $stopReason")
      throw new SearchException(
        s"no trial succeeded (${trials.size} trials, none with a metric); first error: $first",
        null, trials)
    }
    if (largerIsBetter) ok.maxBy(_.metric) else ok.minBy(_.metric)
  }
}
