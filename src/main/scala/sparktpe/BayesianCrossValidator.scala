package sparktpe

import org.apache.spark.ml.Estimator
import org.apache.spark.ml.evaluation.Evaluator
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.{Identifiable, MLReadable, MLReader, MLWritable, MLWriter}
import org.apache.spark.sql.Dataset
import org.apache.spark.sql.types.StructType

/** Params of [[BayesianCrossValidator]] and its model: [[TuningParams]] plus the folds. */
trait BayesianCrossValidatorParams extends TuningParams {

  /** Number of folds (>= 2). Default 3. */
  final val numFolds: IntParam =
    new IntParam(this, "numFolds", "number of folds for cross validation (>= 2)")

  /**
   * Column of fold numbers in [0, numFolds); "" (default) means random folds from `seed`. Any
   * integer type works (int, bigint, smallint, tinyint), as in PySpark's `CrossValidator`
   * (Spark's Scala one takes only int; plain Python ints give bigint). A number out of range, a
   * null, or a fold that leaves no training or no validation rows fails `fit` before any trial.
   */
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
 * released at the end; so are each fold's rows, or, with `reuseUntunedStages`, the output of the
 * Pipeline's leading untuned stages fitted once per fold ([[StageReuse]]). The best trial is
 * refitted on the whole input to give `bestModel`.
 *
 * Every Spark job of a fit carries the fit's job tag and a description such as
 * `sparktpe trial 7/40 fold 2/3`, and keeps the caller's job group and local properties;
 * [[cancel]] cancels exactly those jobs, and any the fit starts later.
 *
 * Errors: `fit` throws IllegalArgumentException for a bad Param before any Spark job, and
 * [[SearchException]] (carrying every trial) if the proposer fails or times out, the search is
 * cancelled or interrupted, a fit dies of a fatal JVM error, no trial succeeds, or the refit fails.
 */
class BayesianCrossValidator(override val uid: String)
  extends Estimator[BayesianCrossValidatorModel] with BayesianCrossValidatorParams with SearchEstimator
    with MLWritable {

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
  def setTimeout(value: Double): this.type = set(timeout, value)
  def setEarlyStopRounds(value: Int): this.type = set(earlyStopRounds, value)
  def setEarlyStopTolerance(value: Double): this.type = set(earlyStopTolerance, value)
  def setTargetMetric(value: Double): this.type = set(targetMetric, value)
  def setPruning(value: String): this.type = set(pruning, value)
  def setPruningMinTrials(value: Int): this.type = set(pruningMinTrials, value)
  def setShowProgress(value: Boolean): this.type = set(showProgress, value)
  def setReuseUntunedStages(value: Boolean): this.type = set(reuseUntunedStages, value)
  def setMlflowLogging(value: Boolean): this.type = set(mlflowLogging, value)
  def setInitialTrials(value: String): this.type = set(initialTrials, value)
  /** Continues the search of `model`: its trials come first, then `maxEvals` more. */
  def setInitialTrials(model: SearchResults): this.type = set(initialTrials, model.trialsJson)

  override def fit(dataset: Dataset[_]): BayesianCrossValidatorModel = cancellableFit(dataset) { control =>
    validateParams()
    checkProposer()
    Folds.checkFoldCol(dataset.toDF(), $(foldCol))
    transformSchema(dataset.schema, logging = true)
    val k = $(numFolds)
    val run = search(control, dataset, df => Folds.kFold(df, k, $(seed), $(foldCol)),
      task => s"sparktpe trial ${task.trialId + 1}/${task.maxEvals} fold ${task.fold + 1}/$k")
    val model = new BayesianCrossValidatorModel(uid, run.bestModel, run.outcome.trials,
      run.outcome.stopReason, run.subModels)
    describeSearch(model.setParent(this), run)
  }

  override def transformSchema(schema: StructType): StructType = {
    val withoutFold = if ($(foldCol).isEmpty) schema else StructType(schema.filter(_.name != $(foldCol)))
    estimatorSchema(withoutFold)
  }

  /** Saves Params, estimator and evaluator as Spark metadata JSON and stage folders. */
  override def write: MLWriter = new TunerWriter(this)

  override def copy(extra: ParamMap): BayesianCrossValidator = {
    val copied = defaultCopy(extra).asInstanceOf[BayesianCrossValidator]
    if (copied.isDefined(estimator)) copied.setEstimator(copied.getEstimator.copy(extra))
    if (copied.isDefined(evaluator)) copied.setEvaluator(copied.getEvaluator.copy(extra))
    copyTrialProposerTo(copied)
    copied
  }
}

object BayesianCrossValidator extends MLReadable[BayesianCrossValidator] {
  override def read: MLReader[BayesianCrossValidator] =
    new TunerReader(classOf[BayesianCrossValidator].getName, uid => new BayesianCrossValidator(uid))
  override def load(path: String): BayesianCrossValidator = super.load(path)
}
