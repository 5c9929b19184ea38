package sparktpe

import org.apache.spark.ml.param.Param

/**
 * One setting to evaluate. `settings` are typed but not yet validated (an invalid value fails
 * its trial, not the search). `vals` is the proposer's own JSON state for this trial (Hyperopt's
 * raw `vals`), kept opaque and echoed back in [[TrialOutcome]]s.
 */
final case class Proposal(settings: Seq[(Param[Any], Any)], vals: String = "{}")

/**
 * What a proposer hears of a finished trial. `loss` is the mean metric, negated when the
 * evaluator is larger-is-better, so smaller is always better; NaN unless `status` is "ok" or
 * "pruned". `settings` is given for trials the proposer did not propose (those of
 * `initialTrials`), so it can learn from them and not repeat them.
 */
final case class TrialOutcome(
    trialId: Int, status: String, loss: Double, vals: String,
    settings: Option[Seq[(Param[Any], Any)]] = None)

/**
 * The search loop's view of a proposer: asked for one trial at a time, told what finished since
 * the last call. Trials proposed but not reported finished are in flight (pending).
 * Grid and random search implement it directly; [[JsonTrialProposer]] adapts any external
 * [[TrialProposer]] (Hyperopt's TPE in Python).
 */
private[sparktpe] trait Proposer {
  /** @return the setting for trial `trialId`, or None when the proposer has nothing more. */
  def next(trialId: Int, finished: Seq[TrialOutcome]): Option[Proposal]
}

/**
 * The grid's ParamMaps in `order` (identity for grid search, a permutation for random),
 * leaving out the settings of `done` (trials of an earlier search being continued).
 */
private[sparktpe] final class GridProposer(
    grid: Array[org.apache.spark.ml.param.ParamMap],
    order: Seq[Int],
    done: Seq[TrialResult] = Nil) extends Proposer {
  private val doneKeys = done.map(t => TrialResult.settingsKey(t.settings)).toSet
  private val remaining = order.iterator.filterNot { i =>
    doneKeys(TrialResult.settingsKey(grid(i).toSeq.map(p => (p.param.asInstanceOf[Param[Any]], p.value))))
  }
  def next(trialId: Int, finished: Seq[TrialOutcome]): Option[Proposal] =
    if (remaining.hasNext) {
      Some(Proposal(grid(remaining.next()).toSeq.map(p => (p.param.asInstanceOf[Param[Any]], p.value))))
    } else None
}

/**
 * Independent draws from a [[SearchSpace]], seeded, so a seed fixes the whole sequence. The
 * first `skip` draws are passed over, so a continued search goes on where the earlier one
 * (same seed) stopped.
 */
private[sparktpe] final class RandomProposer(space: SearchSpace, seed: Long, skip: Int = 0) extends Proposer {
  private val rng = new scala.util.Random(seed)
  (0 until skip).foreach(_ => space.sample(rng))
  def next(trialId: Int, finished: Seq[TrialOutcome]): Option[Proposal] =
    Some(Proposal(space.sample(rng)))
}
