package sparktpe

import java.util.UUID
import java.util.concurrent.ConcurrentHashMap

import scala.jdk.CollectionConverters._

import org.apache.spark.internal.Logging
import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.evaluation.Evaluator
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType
import org.apache.spark.storage.StorageLevel

/** Params of [[BayesianCrossValidator]] and its model: [[TuningParams]] plus the folds. */
trait BayesianCrossValidatorParams extends TuningParams {

  /** Number of folds (>= 2). Default 3. */
  final val numFolds: IntParam =
    new IntParam(this, "numFolds", "number of folds for cross validation (>= 2)")

  /** Column of fold numbers in [0, numFolds); "" (default) means random folds from `seed`. */
  final val foldCol: Param[String] = new Param(this, "foldCol",
    "column holding each row's fold number in [0, numFolds); empty for random folds from seed")

  setDefault(numFolds -> 3, foldCol -> "")

  def getNumFolds: Int = $(numFolds)
  def getFoldCol: String = $(foldCol)

  /** Checks every Param; throws IllegalArgumentException naming the first bad one. */
  def validateParams(): Unit = {
    validateTuningParams()
    if ($(numFolds) < 2) bad(numFolds, $(numFolds), "numFolds must be >= 2")
  }
}

/**
 * K-fold cross-validation that searches hyper-parameters: a drop-in replacement for Spark's
 * `CrossValidator` that can also search at random or with Hyperopt's TPE (Bergstra et al.,
 * "Algorithms for Hyper-Parameter Optimization", NeurIPS 2011) through the Python wrapper.
 *
 * A trial is one setting of the tuned Params, scored by the mean of its folds' metrics. Trials
 * are proposed one at a time by the proposer of `searchAlgorithm` ("grid": the grid in order,
 * "random": seeded draws from `searchSpace` or a seeded permutation of the grid, "tpe": the
 * [[TrialProposer]] set by the Python wrapper or [[setTrialProposer]]). `parallelism` (trial,
 * fold) fits run at once from a JVM thread pool, with no barrier between folds or trials.
 *
 * Folds are those of Spark's `CrossValidator` for the same seed (or `foldCol`), so grid mode
 * gives the same `avgMetrics`. The input is cached once for the fit (unless already cached) and
 * released at the end. The best trial is refitted on the whole input to give `bestModel`.
 *
 * Every Spark job carries the job group of this fit and a description such as
 * `sparktpe trial 7/40 fold 2/3`; [[cancel]] cancels exactly those jobs.
 *
 * Errors: `fit` throws IllegalArgumentException for a bad Param before any Spark job, and
 * [[SearchException]] (carrying the finished trials) if the proposer fails, the search is
 * cancelled, or no trial succeeds.
 */
class BayesianCrossValidator(override val uid: String)
  extends Estimator[BayesianCrossValidatorModel] with BayesianCrossValidatorParams with Logging {

  def this() = this(Identifiable.randomUID("BayesianCrossValidator"))

  def setEstimator(value: Estimator[_]): this.type = set(estimator, value)
  def setEstimatorParamMaps(value: Array[ParamMap]): this.type = set(estimatorParamMaps, value)
  def setEvaluator(value: Evaluator): this.type = set(evaluator, value)
  def setNumFolds(value: Int): this.type = set(numFolds, value)
  def setFoldCol(value: String): this.type = set(foldCol, value)
  def setSeed(value: Long): this.type = set(seed, value)
  def setParallelism(value: Int): this.type = set(parallelism, value)
  def setCollectSubModels(value: Boolean): this.type = set(collectSubModels, value)
  def setSearchAlgorithm(value: String): this.type = set(searchAlgorithm, value)
  def setMaxEvals(value: Int): this.type = set(maxEvals, value)
  def setSearchSpace(value: SearchSpace): this.type = set(searchSpace, value)

  @transient @volatile private var trialProposer: Option[TrialProposer] = None

  /**
   * Sets an external proposer (JSON protocol of [[TrialProposer]]); it then proposes every
   * trial unless `searchAlgorithm` is "grid". The Python wrapper sets Hyperopt's TPE here.
   */
  def setTrialProposer(value: TrialProposer): this.type = { trialProposer = Option(value); this }

  override protected def hasExternalProposer: Boolean = trialProposer.isDefined

  @transient private lazy val running = ConcurrentHashMap.newKeySet[TrialScheduler]()

  /** Cancels every search this instance is running: no new proposals, running jobs cancelled. */
  def cancel(): Unit = running.forEach(_.cancel())

  /**
   * Progress of the running search as JSON `{"finished": n, "total": maxEvals, "best": metric}`
   * (`best` null until a trial succeeds; all zero when no search runs). For progress bars.
   */
  def progressJson(): String = {
    val (finished, total, best) = running.asScala.headOption.map(_.progress).getOrElse((0, 0, Double.NaN))
    s"""{"finished": $finished, "total": $total, "best": ${if (best.isNaN) "null" else best.toString}}"""
  }

  override def fit(dataset: Dataset[_]): BayesianCrossValidatorModel = {
    validateParams()
    if (getSearchAlgorithm == "tpe" && trialProposer.isEmpty) {
      bad(searchAlgorithm, "tpe", "tpe needs Hyperopt: use sparktpe.BayesianCrossValidator from " +
        "Python, or setTrialProposer; in Scala use grid or random")
    }
    Folds.checkFoldCol(dataset.toDF(), $(foldCol))
    transformSchema(dataset.schema, logging = true)

    val df = dataset.toDF()
    val sc = df.sparkSession.sparkContext
    val group = s"sparktpe-$uid-${UUID.randomUUID()}"
    val est = $(estimator)
    val eval = $(evaluator)
    val k = $(numFolds)
    val keepModels = $(collectSubModels)
    val weCached = df.storageLevel == StorageLevel.NONE
    if (weCached) df.persist(StorageLevel.MEMORY_AND_DISK)
    try {
      val splits = Folds.kFold(df, k, $(seed), $(foldCol))
      val scheduler = new TrialScheduler(k, getMaxEvals, $(parallelism), eval.isLargerBetter,
        makeProposer(),
        runFold = task => {
          val (train, valid) = splits(task.fold)
          SparkJobs.withJobGroup(sc, group,
            s"sparktpe trial ${task.trialId + 1}/${task.maxEvals} fold ${task.fold + 1}/$k") {
            val model = est.fit(train, task.paramMap).asInstanceOf[Model[_]]
            val metric = eval.evaluate(model.transform(valid, task.paramMap))
            FoldResult(metric, if (keepModels) Some(model) else None)
          }
        },
        onJobsToCancel = () => sc.cancelJobGroup(group),
        log = line => logInfo(s"$uid: $line"))
      running.add(scheduler)
      try {
        val outcome = scheduler.run()
        val best = BayesianCrossValidator.bestTrial(outcome.trials, eval.isLargerBetter)
        logInfo(s"$uid: ${outcome.trials.size} trials, stopped because ${outcome.stopReason}; " +
          s"best trial ${best.trialId + 1} metric ${best.metric}")
        val bestModel = SparkJobs.withJobGroup(sc, group, s"sparktpe refit best trial ${best.trialId + 1}") {
          est.fit(df, best.paramMap).asInstanceOf[Model[_]]
        }
        val model = new BayesianCrossValidatorModel(uid, bestModel, outcome.trials, outcome.stopReason,
          if (keepModels) Some(scheduler.subModels) else None)
        copyValues(model.setParent(this))
          .set(searchAlgorithm, getSearchAlgorithm)
          .set(maxEvals, getMaxEvals)
          .set(estimatorParamMaps, outcome.trials.map(_.paramMap).toArray)
      } finally {
        running.remove(scheduler)
      }
    } finally {
      if (weCached) df.unpersist()
    }
  }

  private def makeProposer(): Proposer = (getSearchAlgorithm, trialProposer) match {
    case ("grid", _) =>
      val grid = $(estimatorParamMaps)
      new GridProposer(grid, grid.indices)
    case (_, Some(external)) =>
      new JsonTrialProposer(external, new EstimatorParams($(estimator)))
    case _ => get(searchSpace) match {
      case Some(space) => new RandomProposer(space, $(seed))
      case None =>
        val grid = $(estimatorParamMaps)
        new GridProposer(grid, new scala.util.Random($(seed)).shuffle(grid.indices.toVector))
    }
  }

  override def transformSchema(schema: StructType): StructType = {
    val withoutFold = if ($(foldCol).isEmpty) schema else StructType(schema.filter(_.name != $(foldCol)))
    $(estimator).transformSchema(withoutFold)
  }

  override def copy(extra: ParamMap): BayesianCrossValidator = {
    val copied = defaultCopy(extra).asInstanceOf[BayesianCrossValidator]
    if (copied.isDefined(estimator)) copied.setEstimator(copied.getEstimator.copy(extra))
    if (copied.isDefined(evaluator)) copied.setEvaluator(copied.getEvaluator.copy(extra))
    trialProposer.foreach(copied.setTrialProposer)
    copied
  }
}

object BayesianCrossValidator {
  /**
   * The best successful trial (first of equals, as Spark's tuners pick).
   * @throws SearchException when no trial succeeded, with the first trial's error
   */
  private[sparktpe] def bestTrial(trials: Seq[TrialResult], largerIsBetter: Boolean): TrialResult = {
    val ok = trials.filter(t => t.isOk && !t.metric.isNaN)
    if (ok.isEmpty) {
      val first = trials.find(_.error.nonEmpty).flatMap(_.error).getOrElse("no trial was run")
      throw new SearchException(
        s"no trial succeeded (${trials.size} trials, none with a metric); first error: $first",
        null, trials)
    }
    if (largerIsBetter) ok.maxBy(_.metric) else ok.minBy(_.metric)
  }
}
