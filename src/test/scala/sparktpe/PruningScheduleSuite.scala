package sparktpe

import java.util.concurrent.{CountDownLatch, TimeUnit}

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.ml.classification.LogisticRegression
import org.apache.spark.ml.param.{Param, ParamMap}
import org.scalatest.funsuite.AnyFunSuite

/**
 * How median pruning shapes the schedule with several fits in flight: a trial's next fold waits
 * for its earlier folds' verdict, free threads start new trials meanwhile, and a search never
 * waits on itself. The scheduler runs alone on scripted fold metrics (larger is better); latches,
 * not timing, decide every interleaving an assertion depends on. No Spark.
 */
class PruningScheduleSuite extends AnyFunSuite {
  private val numFolds = 3
  private val index = new LogisticRegression().regParam // which scripted row a trial is
  private val good = Seq(0.90, 0.90, 0.90) // above every median
  private val bad = Seq(0.10, 0.10, 0.10) // below every median: pruned at its first verdict

  /**
   * Five ok trials of an earlier search (fold metrics 0.80 ... 0.84): carried over, they count
   * as finished, so the rule applies from the first new trial on (pruningMinTrials 5).
   */
  private val carried = WarmStart((0 until 5).map { i =>
    val m = 0.80 + 0.01 * i
    TrialResult(i, Nil, "{}", Array.fill(numFolds)(m), m, 0.0, TrialResult.Ok, None, 1.0)
  }, Nil)

  /** One search's outcome and every fold it started, as (scripted row, fold). */
  private final class Run(val outcome: SearchOutcome, val starts: Seq[(Int, Int)]) {
    def fits: Int = starts.length
    /** Folds started per scripted row (new trial), in row order. */
    def foldsOf(row: Int): Seq[Int] = starts.filter(_._1 == row).map(_._2).sorted
    def status(row: Int): String = outcome.trials(carried.carried.length + row).status
  }

  /**
   * Runs a grid search over the scripted rows of `metrics` (row i: trial i's metric per fold).
   * `beforeFold(row, fold)` runs as the fold starts, on its worker thread (to block on latches).
   */
  private def search(metrics: Seq[Seq[Double]], parallelism: Int, pruneAfter: Option[Int],
      warmStart: WarmStart = carried, maxEvals: Option[Int] = None,
      beforeFold: (Int, Int) => Unit = (_, _) => (), onLog: String => Unit = _ => (),
      onScheduler: TrialScheduler => Unit = _ => ()): Run = {
    val grid = metrics.indices.map(i => ParamMap(index -> i.toDouble)).toArray
    val starts = ArrayBuffer.empty[(Int, Int)]
    val scheduler = new TrialScheduler(numFolds,
      warmStart.carried.length + maxEvals.getOrElse(grid.length), parallelism, largerIsBetter = true,
      new GridProposer(grid, grid.indices),
      runFold = task => {
        val row = task.paramMap(index.asInstanceOf[Param[Double]]).toInt
        starts.synchronized(starts += ((row, task.fold)))
        beforeFold(row, task.fold)
        FoldResult(metrics(row)(task.fold), None)
      },
      onJobsToCancel = () => (),
      log = onLog,
      pruning = pruneAfter.map(new MedianPruning(_, largerIsBetter = true)),
      warmStart = warmStart)
    onScheduler(scheduler)
    val outcome = scheduler.run()
    new Run(outcome, starts.synchronized(starts.toList))
  }

  /** Waits for `latch`, failing the test (not hanging it) if a bug keeps it shut. */
  private def await(latch: CountDownLatch, what: String): Unit =
    assert(latch.await(2, TimeUnit.MINUTES), s"gave up waiting: $what")

  test("at parallelism 2 a trial pruned after its first fold never starts another: 14 fits, not 18") {
    val rows = Seq(good, bad, good, bad, good, good)
    val plain = search(rows, parallelism = 2, pruneAfter = None)
    assert(plain.fits == 18 && plain.outcome.trials.forall(_.isOk))

    // A bad trial's first fold ends only once a later trial has started a fold: meanwhile the
    // free thread could start the bad trial's next folds, and must not. The last trial's first
    // fold waits until both bad trials are closed: only then does the proposer run dry, so no
    // free thread runs a bad trial's held fold for want of other work.
    val laterStarted = Map(1 -> new CountDownLatch(1), 3 -> new CountDownLatch(1))
    val badClosed = new CountDownLatch(2)
    val pruned = search(rows, parallelism = 2, pruneAfter = Some(5),
      beforeFold = (row, fold) => {
        laterStarted.foreach { case (bad, latch) => if (row > bad) latch.countDown() }
        if (fold == 0) laterStarted.get(row).foreach(await(_, s"a fold of a trial after row $row"))
        if (row == 5 && fold == 0) await(badClosed, "the bad trials' verdicts")
      },
      onLog = line => if (line.contains("pruned after 1/3 folds")) badClosed.countDown())
    assert(pruned.fits == 14) // 4 trials x 3 folds + 2 trials x 1 fold
    assert(pruned.foldsOf(1) == Seq(0) && pruned.foldsOf(3) == Seq(0))
    assert(Seq(0, 2, 4, 5).forall(pruned.foldsOf(_) == Seq(0, 1, 2)))
    assert(rows.indices.map(pruned.status) == Seq("ok", "pruned", "ok", "pruned", "ok", "ok"))
    // Surviving trials are scored exactly as without pruning; the pruned keep their first fold.
    for (row <- Seq(0, 2, 4, 5); id = 5 + row) {
      assert(pruned.outcome.trials(id).foldMetrics.sameElements(plain.outcome.trials(id).foldMetrics))
      assert(pruned.outcome.trials(id).metric == plain.outcome.trials(id).metric)
    }
    assert(pruned.outcome.trials(6).metric == 0.10 && pruned.outcome.trials(6).foldMetrics.drop(1).forall(_.isNaN))
    // Trial order and the carried-over trials are as without pruning.
    assert(pruned.outcome.trials.map(_.trialId) == plain.outcome.trials.map(_.trialId))
    def summary(r: Run) = r.outcome.trials.take(5).map(t => (t.trialId, t.status, t.metric, t.foldMetrics.toSeq))
    assert(summary(pruned) == summary(plain) && summary(pruned).map(_._3) == carried.carried.map(_.metric))
    assert(pruned.outcome.stopReason == "maxEvals (11) reached")
  }

  test("a held fold does not deadlock a search whose proposer is exhausted (grid, parallelism 3)") {
    // The last trial's first fold ends only once its other two folds have started: held while
    // that fold runs, they can start only because free threads with nothing new to propose run
    // held folds rather than wait for a verdict.
    val othersStarted = new CountDownLatch(2)
    val run = search(Seq(good, bad, good), parallelism = 3, pruneAfter = Some(5), maxEvals = Some(6),
      beforeFold = (row, fold) =>
        if (row == 2 && fold == 0) await(othersStarted, "the held folds of the last trial")
        else if (row == 2) othersStarted.countDown())
    assert(run.outcome.stopReason == "the proposer had no more settings")
    assert(Seq(0, 1, 2).map(run.status) == Seq("ok", "pruned", "ok"))
    assert(run.foldsOf(0) == Seq(0, 1, 2) && run.foldsOf(2) == Seq(0, 1, 2))
    assert(run.outcome.trials.filter(_.isOk).forall(_.foldMetrics.forall(!_.isNaN)))
  }

  for (pruneAfter <- Seq(None, Some(100))) {
    test(s"oldest trial first at parallelism 2 <= numFolds: nothing held (pruning ${pruneAfter.fold("off")(n => s"before $n ok trials")})") {
      // Trial 0's first fold ends only once its second has started: the free thread must take
      // trial 0's next fold, not hold it nor start trial 1 (which would leave the latch shut).
      val secondStarted = new CountDownLatch(1)
      val run = search(Seq(good, bad, good), parallelism = 2, pruneAfter = pruneAfter,
        warmStart = WarmStart.none,
        beforeFold = (row, fold) =>
          if (row == 0 && fold == 0) await(secondStarted, "trial 0's second fold")
          else if (row == 0 && fold == 1) secondStarted.countDown())
      assert(run.starts.take(2).toSet == Set((0, 0), (0, 1)))
      assert(run.fits == 9 && run.outcome.trials.forall(_.isOk))
    }
  }

  test("cancel() ends a search whose folds are held, and every trial is kept") {
    // Trial 0's first fold blocks (until interrupted) with its later folds held.
    val entered = new CountDownLatch(1)
    val never = new CountDownLatch(1)
    var scheduler: TrialScheduler = null
    val canceller = new Thread(() => { await(entered, "trial 0's first fold"); scheduler.cancel() })
    canceller.start()
    val error = intercept[SearchException] {
      search(Seq(good, good, good), parallelism = 2, pruneAfter = Some(5), onScheduler = scheduler = _,
        beforeFold = (row, fold) => if (row == 0 && fold == 0) { entered.countDown(); never.await() })
    }
    canceller.join()
    assert(error.getMessage == "the search was cancelled: cancel() was called")
    assert(error.trials.length >= 6 && error.trials(5).status == "cancelled")
    assert(error.trials.take(5).forall(_.isOk))
  }
}
