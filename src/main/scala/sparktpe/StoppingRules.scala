package sparktpe

/**
 * When a search ends before `maxEvals` (the Params `timeout`, `earlyStopRounds`,
 * `earlyStopTolerance` and `targetMetric`): after `timeoutSeconds` of wall time; after
 * `earlyStopRounds` finished trials in a row that do not improve the best metric by more than
 * `earlyStopTolerance` (relative); or as soon as the best metric reaches `targetMetric`.
 * This is the configuration; [[StoppingRule]]s are what the search loop consults.
 */
private[sparktpe] final case class StopRules(
    timeoutSeconds: Option[Double] = None,
    earlyStopRounds: Option[Int] = None,
    earlyStopTolerance: Double = 0.0,
    targetMetric: Option[Double] = None) {

  /** The rules consulted after each finished trial (the timeout is watched by the loop's clock). */
  def afterTrialRules(largerIsBetter: Boolean): Seq[StoppingRule] =
    earlyStopRounds.map(new EarlyStopping(_, earlyStopTolerance, largerIsBetter)).toSeq ++
      targetMetric.map(new TargetMetric(_, largerIsBetter))

  /** The timeout as a rule, if there is one. */
  def timeout: Option[Timeout] = timeoutSeconds.map(Timeout)
}

/**
 * A rule that may end a search early, told every finished trial in the order they finish.
 * Rules are plain objects with no Spark and no threads; the loop calls them under its lock.
 */
private[sparktpe] trait StoppingRule {
  /** A trial carried over from an earlier search (`initialTrials`): counts for the best metric only. */
  def carriedOver(trial: TrialResult): Unit = ()

  /** @return why the search should stop now that `trial` has finished, or None to go on */
  def afterTrial(trial: TrialResult): Option[String]
}

/** The best metric so far among "ok" trials (NaN until one), in the evaluator's direction. */
private[sparktpe] final class BestMetric(largerIsBetter: Boolean) {
  private var best = Double.NaN
  def value: Double = best
  /** How much `metric` beats the best so far (positive: better); +inf while there is no best. */
  def gain(metric: Double): Double =
    if (best.isNaN) Double.PositiveInfinity else if (largerIsBetter) metric - best else best - metric
  def offer(trial: TrialResult): Unit =
    if (trial.isOk && !trial.metric.isNaN && gain(trial.metric) > 0) best = trial.metric
}

/**
 * Stops after `rounds` finished trials in a row (any status) none of which improves the best
 * metric by more than `tolerance` times its magnitude.
 */
private[sparktpe] final class EarlyStopping(rounds: Int, tolerance: Double, largerIsBetter: Boolean)
  extends StoppingRule {
  private val best = new BestMetric(largerIsBetter)
  private var withoutImprovement = 0

  override def carriedOver(trial: TrialResult): Unit = best.offer(trial)

  def afterTrial(trial: TrialResult): Option[String] = {
    val improves = trial.isOk && !trial.metric.isNaN &&
      (best.value.isNaN || best.gain(trial.metric) > tolerance * math.abs(best.value))
    withoutImprovement = if (improves) 0 else withoutImprovement + 1
    best.offer(trial)
    if (withoutImprovement >= rounds) {
      Some(s"no improvement of more than $tolerance (relative) in $rounds trials")
    } else None
  }
}

/** Stops as soon as the best metric reaches `target` (>= when larger is better, else <=). */
private[sparktpe] final class TargetMetric(target: Double, largerIsBetter: Boolean) extends StoppingRule {
  private val best = new BestMetric(largerIsBetter)

  override def carriedOver(trial: TrialResult): Unit = best.offer(trial)

  def afterTrial(trial: TrialResult): Option[String] = {
    best.offer(trial)
    val reached = !best.value.isNaN && (if (largerIsBetter) best.value >= target else best.value <= target)
    if (reached) Some(s"targetMetric ($target) reached") else None
  }
}

/** Ends the search `seconds` of wall time after it started; fits in flight are cancelled. */
private[sparktpe] final case class Timeout(seconds: Double) {
  def reason: String = s"timeout ($seconds s) reached"
  /** The `System.nanoTime()` at which a search started at `startNanos` times out. */
  def deadlineNanos(startNanos: Long): Long = startNanos + (seconds * 1e9).toLong
}
