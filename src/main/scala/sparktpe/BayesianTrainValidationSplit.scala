package sparktpe

import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.evaluation.Evaluator
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.{Identifiable, MLReadable, MLReader, MLWritable, MLWriter}
import org.apache.spark.sql.{DataFrame, Dataset, SparkSession}
import org.apache.spark.sql.types.StructType

/** Params of [[BayesianTrainValidationSplit]] and its model: [[TuningParams]] plus `trainRatio`. */
trait BayesianTrainValidationSplitParams extends TuningParams {

  /** Share of the input used for training, in [0, 1]; the rest validates. Default 0.75. */
  final val trainRatio: DoubleParam = new DoubleParam(this, "trainRatio",
    "ratio between training set and validation set (>= 0 && <= 1)")

  setDefault(trainRatio -> 0.75)

  def getTrainRatio: Double = $(trainRatio)

  /** Checks every Param; throws IllegalArgumentException naming the first bad one. */
  def validateParams(): Unit = {
    validateTuningParams()
    val r = $(trainRatio)
    if (!(r >= 0 && r <= 1)) bad(trainRatio, r, "trainRatio must be in [0, 1]")
  }
}

/**
 * Hyper-parameter search scored on one train/validation split: a drop-in replacement for
 * Spark's `TrainValidationSplit` with the search algorithms, scheduler and trial history of
 * [[BayesianCrossValidator]]. The split is Spark's own (`randomSplit(Array(trainRatio,
 * 1 - trainRatio), seed)`), so grid mode gives `TrainValidationSplit`'s `validationMetrics`.
 * Jobs are described as `sparktpe trial 7/40`.
 *
 * Errors as for [[BayesianCrossValidator]].
 */
class BayesianTrainValidationSplit(override val uid: String)
  extends Estimator[BayesianTrainValidationSplitModel] with BayesianTrainValidationSplitParams
    with SearchEstimator with MLWritable {

  def this() = this(Identifiable.randomUID("BayesianTrainValidationSplit"))

  def setEstimator(value: Estimator[_]): this.type = set(estimator, value)
  def setEstimatorParamMaps(value: Array[ParamMap]): this.type = set(estimatorParamMaps, value)
  def setEvaluator(value: Evaluator): this.type = set(evaluator, value)
  def setTrainRatio(value: Double): this.type = set(trainRatio, value)
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

  override def fit(dataset: Dataset[_]): BayesianTrainValidationSplitModel = cancellableFit(dataset) { control =>
    validateParams()
    checkProposer()
    transformSchema(dataset.schema, logging = true)
    val ratio = $(trainRatio)
    val run = search(control, dataset, df => {
      val Array(train, valid) = df.randomSplit(Array(ratio, 1 - ratio), $(seed))
      Array((train, valid))
    }, task => s"sparktpe trial ${task.trialId + 1}/${task.maxEvals}")
    val model = new BayesianTrainValidationSplitModel(uid, run.bestModel, run.outcome.trials,
      run.outcome.stopReason, run.subModels.map(_.head))
    describeSearch(model.setParent(this), run)
  }

  /** The estimator's output schema, checked with the search's settings applied (see `schemaCheckSettings`). */
  override def transformSchema(schema: StructType): StructType = estimatorSchema(schema)

  /** Saves Params, estimator and evaluator as Spark metadata JSON and stage folders. */
  override def write: MLWriter = new TunerWriter(this)

  override def copy(extra: ParamMap): BayesianTrainValidationSplit = {
    val copied = defaultCopy(extra).asInstanceOf[BayesianTrainValidationSplit]
    if (copied.isDefined(estimator)) copied.setEstimator(copied.getEstimator.copy(extra))
    if (copied.isDefined(evaluator)) copied.setEvaluator(copied.getEvaluator.copy(extra))
    copyTrialProposerTo(copied)
    copied
  }
}

/**
 * The result of a [[BayesianTrainValidationSplit]] fit. `validationMetrics(i)` and
 * `getEstimatorParamMaps(i)` describe trial `i` in trial order (NaN for failed trials).
 */
class BayesianTrainValidationSplitModel private[sparktpe] (
    override val uid: String,
    val bestModel: Model[_],
    val trialResults: Seq[TrialResult],
    val stopReason: String,
    private val subModelsOption: Option[Array[Model[_]]])
  extends Model[BayesianTrainValidationSplitModel] with BayesianTrainValidationSplitParams
    with MLWritable with SearchResults {

  /**
   * The validation metric of each trial, in trial order; NaN for a trial that failed or was
   * cancelled, so `argmax(validationMetrics)` never picks one.
   */
  val validationMetrics: Array[Double] = TrialResult.completeOnly(trialResults, _.metric)

  def hasSubModels: Boolean = subModelsOption.isDefined

  /** Every trial's model (fitted on the training part), in trial order. */
  def subModels: Array[Model[_]] = subModelsOption.getOrElse(throw new IllegalStateException(
    s"$uid has no subModels: set collectSubModels to true on the estimator before fit"))

  /** One row per trial, as [[BayesianCrossValidatorModel.trials]] (foldMetrics has one entry). */
  def trials: DataFrame = TrialsTable.toDataFrame(SparkSession.active, trialResults)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    bestModel.transform(dataset)
  }

  override def transformSchema(schema: StructType): StructType = bestModel.transformSchema(schema)

  /**
   * As [[BayesianCrossValidatorModel.write]] (sub-models saved unless `persistSubModels` is
   * "false"); they are saved as one "fold".
   */
  override def write: MLWriter =
    new TunedModelWriter(this, bestModel, trialResults, stopReason, subModelsOption.map(Array(_)))

  override def copy(extra: ParamMap): BayesianTrainValidationSplitModel = {
    val copied = new BayesianTrainValidationSplitModel(uid, bestModel.copy(extra).asInstanceOf[Model[_]],
      trialResults, stopReason, subModelsOption.map(TrialResult.copyModels))
    copyValues(copied, extra).setParent(parent)
  }
}

object BayesianTrainValidationSplit extends MLReadable[BayesianTrainValidationSplit] {
  override def read: MLReader[BayesianTrainValidationSplit] = new TunerReader(
    classOf[BayesianTrainValidationSplit].getName, uid => new BayesianTrainValidationSplit(uid))
  override def load(path: String): BayesianTrainValidationSplit = super.load(path)
}

object BayesianTrainValidationSplitModel extends MLReadable[BayesianTrainValidationSplitModel] {
  override def read: MLReader[BayesianTrainValidationSplitModel] = new TunedModelReader[BayesianTrainValidationSplitModel](
    classOf[BayesianTrainValidationSplitModel].getName, (uid, parts) => new BayesianTrainValidationSplitModel(uid, parts.bestModel,
      parts.trials, parts.stopReason, parts.subModels.map(_.head)))
  override def load(path: String): BayesianTrainValidationSplitModel = super.load(path)
}
