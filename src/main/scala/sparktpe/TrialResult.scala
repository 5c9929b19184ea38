package sparktpe

import scala.util.Try

import org.apache.spark.ml.Model
import org.apache.spark.ml.param.{Param, ParamMap, ParamPair}

/**
 * One evaluated (or abandoned) trial.
 *
 * @param trialId     0-based position in trial order; also the index into `avgMetrics`
 * @param settings    the proposed Param values, as proposed (possibly invalid)
 * @param vals        the proposer's opaque JSON for this trial (Hyperopt's `vals`)
 * @param foldMetrics the evaluator's metric on each fold; NaN for folds not evaluated
 * @param metric      mean of `foldMetrics` when `status` is "ok", else NaN
 * @param stdMetric   population standard deviation of `foldMetrics` when "ok", else NaN
 * @param status      "ok", "failed" (a fit or evaluation threw) or "cancelled"
 * @param error       the first error of a failed trial
 * @param fitSeconds  wall seconds from the trial's proposal to its last fold's end
 */
final case class TrialResult(
    trialId: Int,
    settings: Seq[(Param[Any], Any)],
    vals: String,
    foldMetrics: Array[Double],
    metric: Double,
    stdMetric: Double,
    status: String,
    error: Option[String],
    fitSeconds: Double) {

  def isOk: Boolean = status == TrialResult.Ok

  /** The settings as a ParamMap, leaving out values that fail their Param's validation. */
  def paramMap: ParamMap =
    ParamMap(settings.flatMap { case (p, v) => Try(ParamPair(p, v)).toOption }: _*)
}

object TrialResult {
  val Ok = "ok"
  val Failed = "failed"
  val Cancelled = "cancelled"

  /** The settings as a ParamMap; throws IllegalArgumentException if a value is invalid. */
  private[sparktpe] def strictParamMap(settings: Seq[(Param[Any], Any)]): ParamMap =
    ParamMap(settings.map { case (p, v) => ParamPair(p, v) }: _*)
}

/** What one fold's work item produced. */
private[sparktpe] final case class FoldResult(metric: Double, model: Option[Model[_]])
