package sparktpe

import scala.util.Try

import org.apache.spark.ml.Model
import org.apache.spark.ml.param.{Param, ParamMap, ParamPair}
import org.apache.spark.ml.sparktpe.SparkMLBridge
import org.apache.spark.ml.util.Identifiable

/**
 * One evaluated (or abandoned) trial.
 *
 * @param trialId     0-based position in trial order; also the index into `avgMetrics`
 * @param settings    the proposed Param values, as proposed (possibly invalid)
 * @param vals        the proposer's opaque JSON for this trial (Hyperopt's `vals`)
 * @param foldMetrics the evaluator's metric on each fold; NaN for folds not evaluated
 * @param metric      mean of `foldMetrics` when `status` is "ok"; for "pruned", the mean of the
 *                    folds evaluated before pruning; else NaN
 * @param stdMetric   population standard deviation of the same folds' metrics, else NaN
 * @param status      "ok", "pruned" (abandoned after some folds by the `pruning` rule),
 *                    "failed" (a fit or evaluation threw) or "cancelled"
 * @param error       the first error of a failed trial
 * @param fitSeconds  wall seconds from the trial's proposal to its last fold's end
 * @param foldStartTimes when each fold's fit and evaluation started, in seconds since the Unix
 *                    epoch; NaN for folds that did not run; empty when not recorded (trials
 *                    saved by an earlier version)
 * @param foldEndTimes when each fold's fit and evaluation ended (same units and NaNs)
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
    fitSeconds: Double,
    foldStartTimes: Array[Double] = Array.empty,
    foldEndTimes: Array[Double] = Array.empty) {

  def isOk: Boolean = status == TrialResult.Ok

  /**
   * The settings as a ParamMap, exactly as proposed: a value that fails its Param's validation
   * (a proposer's `regParam = -1`) stays in, so the map shows what the trial ran with (and
   * failed on), not a default that never ran. Read such a map with `get`/`apply`; its `toSeq`
   * throws, since Spark's `ParamPair` validates each value.
   */
  def paramMap: ParamMap = SparkMLBridge.unvalidatedParamMap(settings)
}

object TrialResult {
  val Ok = "ok"
  val Failed = "failed"
  val Cancelled = "cancelled"
  val Pruned = "pruned"

  /**
   * `value` of each trial that finished all its folds ("ok"), NaN for the others: what
   * `avgMetrics` shows, so that Spark users' `argmax(avgMetrics)` only sees complete trials.
   */
  private[sparktpe] def completeOnly(trials: Seq[TrialResult], value: TrialResult => Double): Array[Double] =
    trials.map(t => if (t.isOk) value(t) else Double.NaN).toArray

  /** Copies of fitted models, as Spark's tuner models copy their sub-models; null stays null. */
  private[sparktpe] def copyModels(models: Array[Model[_]]): Array[Model[_]] =
    models.map(m => if (m == null) null else m.copy(ParamMap.empty).asInstanceOf[Model[_]])

  /** A setting's identity: which Params (by stage uid and name) take which (JSON) values. */
  private[sparktpe] def settingsKey(settings: Seq[(Param[Any], Any)]): Set[(String, String, String)] =
    settings.map { case (p, v) => (p.parent, p.name, show(p, v)) }.toSet

  /** A value as text: the Param's JSON, or the uids of stages (alternatives of `pipeline.stages`). */
  private[sparktpe] def show(p: Param[Any], v: Any): String = v match {
    case stages: Array[_] if stages.nonEmpty && stages.forall(_.isInstanceOf[Identifiable]) =>
      stages.map(_.asInstanceOf[Identifiable].uid).mkString("[", ", ", "]")
    case stage: Identifiable => stage.uid
    case _ => Try(p.jsonEncode(v)).getOrElse(String.valueOf(v))
  }

  /**
   * A ParamMap's (Param, value) entries, also when a value is invalid: `toSeq` if it can
   * (it validates), else every Param of `known` the map holds.
   */
  private[sparktpe] def entries(m: ParamMap, known: Iterable[Param[Any]]): Seq[(Param[Any], Any)] =
    Try(m.toSeq.map(pp => (pp.param.asInstanceOf[Param[Any]], pp.value: Any))).getOrElse(
      known.toSeq.flatMap(p => m.get(p).map(v => (p, v))))

  /** The settings as a ParamMap; throws IllegalArgumentException if a value is invalid. */
  private[sparktpe] def strictParamMap(settings: Seq[(Param[Any], Any)]): ParamMap =
    ParamMap(settings.map { case (p, v) => ParamPair(p, v) }: _*)
}

/** A fitted tuner model's trials, in trial order; what `initialTrials` continues from. */
trait SearchResults { self: TuningParams =>
  def trialResults: Seq[TrialResult]

  /** Why the search stopped, e.g. "maxEvals (40) reached". */
  def stopReason: String

  /** The `trialId` of the best trial, the one `bestModel` was refitted from (first of equals). */
  def bestTrialId: Int =
    SearchEstimator.bestTrial(trialResults, stopReason, getEvaluator.isLargerBetter).trialId

  /** The trials as JSON, for `setInitialTrials` (the format models are saved with). */
  def trialsJson: String = {
    import org.json4s.jackson.JsonMethods.{compact, render}
    compact(render(TunerPersistence.trialsJson(trialResults)))
  }
}

/** What one fold's work item produced. */
private[sparktpe] final case class FoldResult(metric: Double, model: Option[Model[_]])
