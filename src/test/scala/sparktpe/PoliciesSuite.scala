package sparktpe

import org.scalatest.funsuite.AnyFunSuite

/** The search loop's policies alone: stopping rules, median pruning, warm start. No Spark. */
class PoliciesSuite extends AnyFunSuite {

  private def trial(metric: Double, status: String = TrialResult.Ok, folds: Seq[Double] = Nil) =
    TrialResult(0, Nil, "{}", (if (folds.isEmpty) Seq(metric) else folds).toArray, metric, 0.0,
      status, None, 1.0)

  test("EarlyStopping counts finished trials that do not beat the best by more than the tolerance") {
    val rule = new EarlyStopping(rounds = 2, tolerance = 0.1, largerIsBetter = true)
    assert(rule.afterTrial(trial(0.5)).isEmpty)        // first best
    assert(rule.afterTrial(trial(0.54)).isEmpty)       // +0.04 <= 0.1 * 0.5: no improvement (1)
    assert(rule.afterTrial(trial(0.7)).isEmpty)        // +0.16 > 0.054: improvement, count reset
    assert(rule.afterTrial(trial(Double.NaN, TrialResult.Failed)).isEmpty) // a failure counts (1)
    assert(rule.afterTrial(trial(0.71)) ==
      Some("no improvement of more than 0.1 (relative) in 2 trials"))
  }

  test("EarlyStopping: smaller is better, and carried-over trials set the best without counting") {
    val rule = new EarlyStopping(rounds = 1, tolerance = 0.0, largerIsBetter = false)
    rule.carriedOver(trial(1.0))
    assert(rule.afterTrial(trial(0.9)).isEmpty)        // better than the carried best
    assert(rule.afterTrial(trial(0.95)).nonEmpty)      // worse: one round without improvement
  }

  test("TargetMetric stops when the best reaches the target, in the evaluator's direction") {
    val up = new TargetMetric(0.8, largerIsBetter = true)
    assert(up.afterTrial(trial(0.79)).isEmpty)
    assert(up.afterTrial(trial(0.1)).isEmpty)
    assert(up.afterTrial(trial(0.8)) == Some("targetMetric (0.8) reached"))
    val down = new TargetMetric(0.2, largerIsBetter = false)
    assert(down.afterTrial(trial(0.1, TrialResult.Pruned)).isEmpty) // a pruned trial is no best
    assert(down.afterTrial(trial(0.3)).isEmpty)
    down.carriedOver(trial(0.15))
    assert(down.afterTrial(trial(0.5)).nonEmpty)
  }

  test("StopRules builds only the rules that are set; Timeout's deadline is in nanoseconds") {
    assert(StopRules().afterTrialRules(largerIsBetter = true).isEmpty)
    val rules = StopRules(Some(2.5), Some(3), 0.0, Some(0.9)).afterTrialRules(largerIsBetter = true)
    assert(rules.map(_.getClass.getSimpleName) == Seq("EarlyStopping", "TargetMetric"))
    val timeout = StopRules(timeoutSeconds = Some(2.5)).timeout.get
    assert(timeout.deadlineNanos(1000L) == 1000L + 2500000000L)
    assert(timeout.reason == "timeout (2.5 s) reached")
  }

  test("MedianPruning compares on the same folds, only after minTrials ok trials, never on the last fold") {
    val finished = Seq(
      trial(0.8, folds = Seq(0.9, 0.7, 0.8)),
      trial(0.6, folds = Seq(0.5, 0.7, 0.6)),
      trial(0.7, folds = Seq(0.7, 0.7, 0.7)),
      trial(Double.NaN, TrialResult.Failed, Seq(0.0, Double.NaN, Double.NaN)))
    val rule = new MedianPruning(minTrials = 3, largerIsBetter = true)
    // Fold 0 medians over the ok trials: 0.7; fold 1: 0.7.
    assert(rule.shouldPrune(Array(0.69, Double.NaN, Double.NaN), Array(true, false, false), finished))
    assert(!rule.shouldPrune(Array(0.7, Double.NaN, Double.NaN), Array(true, false, false), finished))
    // Only fold 1 evaluated: compared with fold 1's means (all 0.7), not fold 0's.
    assert(!rule.shouldPrune(Array(Double.NaN, 0.7, Double.NaN), Array(false, true, false), finished))
    // Every fold evaluated: nothing left to save, never pruned.
    assert(!rule.shouldPrune(Array(0.1, 0.1, 0.1), Array(true, true, true), finished))
    // Fewer than minTrials ok trials: the rule waits.
    assert(!new MedianPruning(4, largerIsBetter = true)
      .shouldPrune(Array(0.1, Double.NaN, Double.NaN), Array(true, false, false), finished))
    // Smaller is better: above the median is worse.
    assert(new MedianPruning(3, largerIsBetter = false)
      .shouldPrune(Array(0.71, Double.NaN, Double.NaN), Array(true, false, false), finished))
  }

  test("MedianPruning holds a trial's next fold only while a started fold awaits its verdict and the rule applies") {
    val ok = Seq(trial(0.8), trial(0.7))
    val rule = new MedianPruning(minTrials = 2, largerIsBetter = true)
    assert(rule.applies(ok) && rule.holdsNextFold(unscored = 1, ok))
    assert(rule.holdsNextFold(unscored = 2, ok))
    assert(!rule.holdsNextFold(unscored = 0, ok)) // every started fold scored, and it survived
    // Before minTrials ok trials (pruned and failed ones do not count), nothing waits.
    val notYet = Seq(trial(0.8), trial(0.1, TrialResult.Pruned), trial(Double.NaN, TrialResult.Failed))
    assert(!rule.applies(notYet) && !rule.holdsNextFold(unscored = 1, notYet))
    assert(!rule.holdsNextFold(unscored = 1, Nil))
  }

  test("WarmStart carries over ended trials, renumbered, and retries the cancelled ones' settings") {
    val p = new org.apache.spark.ml.classification.LogisticRegression().regParam.asInstanceOf[
      org.apache.spark.ml.param.Param[Any]]
    def at(id: Int, reg: Double, status: String) =
      trial(0.5, status).copy(trialId = id, settings = Seq((p, reg: Any)), vals = s"""{"i": $id}""")
    val warm = WarmStart(Seq(at(0, 0.1, "ok"), at(1, 0.2, "cancelled"), at(2, 0.3, "failed"),
      at(3, 0.4, "pruned"), at(4, 0.5, "cancelled")))
    assert(warm.carried.map(t => (t.trialId, t.settings.head._2, t.status)) ==
      Seq((0, 0.1, "ok"), (1, 0.3, "failed"), (2, 0.4, "pruned")))
    assert(warm.retried == Seq(Proposal(Seq((p, 0.2: Any)), """{"i": 1}"""), Proposal(Seq((p, 0.5: Any)), """{"i": 4}""")))
    assert(WarmStart(Nil).isEmpty)
  }
}
