package sparktpe

/**
 * How a search continues from `initialTrials` (the trials of an earlier search or of a
 * [[SearchException]]).
 *
 * - `carried`: the trials that ran to an end (ok, pruned or failed). They count as finished:
 *   none of their folds runs again, their metrics and fold times are kept bit for bit, they
 *   take the first trial ids (renumbered 0, 1, ... in their order) and the proposer hears them
 *   first. They do not count against `maxEvals`: the search runs `maxEvals` trials more.
 * - `retried`: the trials cut short by `timeout` or `cancel()` (status "cancelled"). Their
 *   settings run again, before any new proposal, as the first of the `maxEvals` new trials
 *   (with `maxEvals` smaller than their number, only the first `maxEvals` run).
 *
 * The proposers skip the settings of both kinds (grid), or the draws they used (random), so no
 * setting runs twice and a retried setting runs exactly once.
 */
private[sparktpe] final case class WarmStart(carried: Seq[TrialResult], retried: Seq[Proposal]) {
  def isEmpty: Boolean = carried.isEmpty && retried.isEmpty
}

private[sparktpe] object WarmStart {
  val none: WarmStart = WarmStart(Nil, Nil)

  def apply(initial: Seq[TrialResult]): WarmStart = {
    val (cut, ended) = initial.partition(_.status == TrialResult.Cancelled)
    WarmStart(
      ended.zipWithIndex.map { case (t, i) => t.copy(trialId = i) },
      cut.map(t => Proposal(t.settings, t.vals)))
  }
}
