package sparktpe

import org.apache.spark.ml.Model
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.{MLReadable, MLReader, MLWritable, MLWriter}
import org.apache.spark.sql.{DataFrame, Dataset, SparkSession}
import org.apache.spark.sql.types.StructType

/**
 * The result of a [[BayesianCrossValidator]] fit: the best trial's model refitted on the whole
 * input, and every trial's metrics. `transform` goes through `bestModel`.
 *
 * `avgMetrics(i)`, `stdMetrics(i)` and `getEstimatorParamMaps(i)` describe trial `i` in trial
 * order (grid order in grid mode). Pruned, failed or cancelled trials have NaN metrics.
 *
 * @param trialResults every trial, in trial order
 * @param stopReason   why the search stopped, e.g. "maxEvals (40) reached"
 */
class BayesianCrossValidatorModel private[sparktpe] (
    override val uid: String,
    val bestModel: Model[_],
    val trialResults: Seq[TrialResult],
    val stopReason: String,
    private val subModelsOption: Option[Array[Array[Model[_]]]])
  extends Model[BayesianCrossValidatorModel] with BayesianCrossValidatorParams with MLWritable
    with SearchResults {

  /**
   * Mean metric over folds of each trial, in trial order; NaN for a trial that did not finish
   * all its folds ("pruned", "failed", "cancelled"), so `argmax(avgMetrics)` (or argmin) never
   * picks one. A pruned trial's partial mean stays in `trials.metric` and `trialResults`.
   */
  val avgMetrics: Array[Double] = TrialResult.completeOnly(trialResults, _.metric)

  /** Population standard deviation over folds of each trial's metric, in trial order (NaN as above). */
  val stdMetrics: Array[Double] = TrialResult.completeOnly(trialResults, _.stdMetric)

  /** True when `collectSubModels` was set for the fit. */
  def hasSubModels: Boolean = subModelsOption.isDefined

  /** Every fold's model, indexed [fold][trial] as in Spark's `CrossValidatorModel`. */
  def subModels: Array[Array[Model[_]]] = subModelsOption.getOrElse(throw new IllegalStateException(
    s"$uid has no subModels: set collectSubModels to true on the estimator before fit"))

  /**
   * One row per trial: `trialId` (int, 0-based, the index into `avgMetrics`), one column per
   * tuned Param in (stage uid, name) order (named by the Param, or `<stage uid>_<name>` where
   * names clash), `foldMetrics` (array of double; NaN for folds not run), `metric`,
   * `stdMetric`, `status` ("ok", "pruned", "failed", "cancelled"), `error` and `fitSeconds`
   * (wall seconds). Built in the active SparkSession.
   */
  def trials: DataFrame = TrialsTable.toDataFrame(SparkSession.active, trialResults)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    bestModel.transform(dataset)
  }

  override def transformSchema(schema: StructType): StructType = bestModel.transformSchema(schema)

  /**
   * Saves Params, estimator, evaluator, `bestModel`, trials and stop reason, and every sub-model
   * unless `write.option("persistSubModels", "false")` (the default is "true" when the model has
   * sub-models, as for Spark's `CrossValidatorModel`; see `TunedModelWriter` for the errors).
   */
  override def write: MLWriter = new TunedModelWriter(this, bestModel, trialResults, stopReason, subModelsOption)

  /** A copy with `extra` applied to `bestModel`; sub-models are copied too, as Spark copies them. */
  override def copy(extra: ParamMap): BayesianCrossValidatorModel = {
    val copied = new BayesianCrossValidatorModel(uid, bestModel.copy(extra).asInstanceOf[Model[_]],
      trialResults, stopReason, subModelsOption.map(_.map(TrialResult.copyModels)))
    copyValues(copied, extra).setParent(parent)
  }
}

object BayesianCrossValidatorModel extends MLReadable[BayesianCrossValidatorModel] {
  override def read: MLReader[BayesianCrossValidatorModel] = new TunedModelReader[BayesianCrossValidatorModel](
    classOf[BayesianCrossValidatorModel].getName, (uid, parts) => new BayesianCrossValidatorModel(uid, parts.bestModel,
      parts.trials, parts.stopReason, parts.subModels))
  override def load(path: String): BayesianCrossValidatorModel = super.load(path)
}
