package sparktpe

/**
 * The median stopping rule on folds (`pruning = "median"`): once `minTrials` trials have
 * finished "ok", a trial still running is abandoned after a fold when its mean over the folds
 * evaluated so far is worse than the median, over those finished trials, of their means over
 * the same folds. Comparing on the same folds keeps an easy fold from flattering anyone.
 *
 * With several fits in flight the rule also says when a trial's next fold may start
 * ([[holdsNextFold]]): while the rule applies, not before the trial's started folds are scored
 * and it survived their verdict. This is successive halving over folds (Jamieson & Talwalkar,
 * "Non-stochastic Best Arm Identification and Hyperparameter Optimization", AISTATS 2016) in
 * its asynchronous form (Li et al., "A System for Massively Parallel Hyperparameter Tuning"
 * (ASHA), 2018; MLSys 2020): the rungs are folds, a trial is promoted to its next fold as soon
 * as its own verdict is in, never after a whole rung, and free threads start first folds of new
 * trials meanwhile. Without it a trial's folds start together at `parallelism > 1`, and a
 * verdict after the first fold comes when its other folds are already running.
 *
 * A plain object with no Spark and no threads; the loop calls it under its lock.
 */
private[sparktpe] final class MedianPruning(minTrials: Int, largerIsBetter: Boolean) {

  /** Can the rule abandon a trial yet? Only once `minTrials` trials have finished "ok". */
  def applies(finished: Seq[TrialResult]): Boolean = finished.count(_.isOk) >= minTrials

  /**
   * Must a trial's next fold wait? Yes while some fold it started has no metric yet and the rule
   * applies: that fold's verdict may abandon the trial, and the fold would be wasted. Before the
   * rule applies nothing waits, so the first `minTrials` trials run as without pruning.
   *
   * @param unscored folds of the trial started and not yet scored (>= 0)
   * @param finished every trial finished so far (only "ok" ones count)
   */
  def holdsNextFold(unscored: Int, finished: Seq[TrialResult]): Boolean =
    unscored > 0 && applies(finished)

  /**
   * @param foldMetrics the running trial's metric per fold (NaN where not evaluated)
   * @param evaluated   which folds of the running trial have a metric
   * @param finished    every trial finished so far (only "ok" ones count)
   * @return true when the running trial should be abandoned now
   */
  def shouldPrune(foldMetrics: Array[Double], evaluated: Array[Boolean], finished: Seq[TrialResult]): Boolean = {
    val folds = foldMetrics.indices.filter(evaluated)
    def meanOn(metrics: Array[Double]) = folds.map(metrics).sum / folds.size
    folds.nonEmpty && folds.size < foldMetrics.length && applies(finished) && {
      val others = finished.filter(_.isOk).map(r => meanOn(r.foldMetrics)).sorted
      val n = others.size
      val median = if (n % 2 == 1) others(n / 2) else (others(n / 2 - 1) + others(n / 2)) / 2
      val mine = meanOn(foldMetrics)
      if (largerIsBetter) mine < median else mine > median
    }
  }
}
