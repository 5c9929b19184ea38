package sparktpe

/**
 * The median stopping rule on folds (`pruning = "median"`): once `minTrials` trials have
 * finished "ok", a trial still running is abandoned after a fold when its mean over the folds
 * evaluated so far is worse than the median, over those finished trials, of their means over
 * the same folds. Comparing on the same folds keeps an easy fold from flattering anyone.
 * A plain object with no Spark and no threads; the loop calls it under its lock.
 */
private[sparktpe] final class MedianPruning(minTrials: Int, largerIsBetter: Boolean) {

  /**
   * @param foldMetrics the running trial's metric per fold (NaN where not evaluated)
   * @param evaluated   which folds of the running trial have a metric
   * @param finished    every trial finished so far (only "ok" ones count)
   * @return true when the running trial should be abandoned now
   */
  def shouldPrune(foldMetrics: Array[Double], evaluated: Array[Boolean], finished: Seq[TrialResult]): Boolean = {
    val folds = foldMetrics.indices.filter(evaluated)
    def meanOn(metrics: Array[Double]) = folds.map(metrics).sum / folds.size
    val others = finished.filter(_.isOk).map(r => meanOn(r.foldMetrics)).sorted
    folds.nonEmpty && folds.size < foldMetrics.length && others.size >= minTrials && {
      val n = others.size
      val median = if (n % 2 == 1) others(n / 2) else (others(n / 2 - 1) + others(n / 2)) / 2
      val mine = meanOn(foldMetrics)
      if (largerIsBetter) mine < median else mine > median
    }
  }
}
