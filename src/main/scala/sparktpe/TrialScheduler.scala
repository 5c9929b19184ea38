package sparktpe

import java.util.concurrent.{ExecutionException, Executors, ThreadFactory, TimeUnit, TimeoutException}
import java.util.concurrent.atomic.AtomicInteger

import scala.collection.mutable.ArrayBuffer
import scala.util.control.NonFatal

import org.apache.spark.ml.Model
import org.apache.spark.ml.param.ParamMap

/** One (trial, fold) work item handed to the fold runner. */
private[sparktpe] final case class FoldTask(
    trialId: Int, fold: Int, numFolds: Int, maxEvals: Int, paramMap: ParamMap)

/**
 * When a search ends before `maxEvals`: after `timeoutSeconds` of wall time; after
 * `earlyStopRounds` finished trials in a row that do not improve the best metric by more than
 * `earlyStopTolerance` (relative); or as soon as the best metric reaches `targetMetric`.
 */
private[sparktpe] final case class StopRules(
    timeoutSeconds: Option[Double] = None,
    earlyStopRounds: Option[Int] = None,
    earlyStopTolerance: Double = 0.0,
    targetMetric: Option[Double] = None)

/** What a search ended with: every trial in trial order, and why it stopped. */
private[sparktpe] final case class SearchOutcome(
    trials: Seq[TrialResult], stopReason: String, maxConcurrentFolds: Int)

/**
 * The search loop: a fixed pool of `parallelism` threads running (trial, fold) work items with no
 * barrier. A free thread first takes the next unstarted fold of the oldest trial in flight, and
 * only when there is none asks the proposer for a new trial. So with `parallelism <= numFolds`
 * trials finish one after another, and an adaptive proposer sees each result before it proposes
 * again, while every thread stays busy.
 *
 * State is guarded by one lock that is never held while a fit or a proposer runs. Proposals are
 * made one at a time (the proposer is sequential anyway) on [[ProposerThread]].
 *
 * @param runFold fits and evaluates one work item; its exception fails only that trial
 * @param onJobsToCancel cancels the Spark jobs of this search (on cancel or a fatal error)
 * @param log receives one line per finished trial
 * @param pruneAfter with Some(n), the median rule prunes trials once n trials have finished
 *                   (see `TuningParams.pruning`); None: no pruning
 * @param initial    trials of an earlier search: they keep the first trial ids, count as
 *                   finished, and the proposer hears them (with their settings) first;
 *                   `maxEvals` includes them
 */
private[sparktpe] final class TrialScheduler(
    numFolds: Int,
    maxEvals: Int,
    parallelism: Int,
    largerIsBetter: Boolean,
    proposer: Proposer,
    runFold: FoldTask => FoldResult,
    onJobsToCancel: () => Unit,
    log: String => Unit,
    rules: StopRules = StopRules(),
    pruneAfter: Option[Int] = None,
    initial: Seq[TrialResult] = Nil) {
  import TrialScheduler._

  private val lock = new Object
  private val trials = ArrayBuffer.empty[Trial]
  private val unreported = ArrayBuffer.empty[TrialOutcome]
  private var proposing = false
  private var exhausted = false
  private var cancelled = false
  private var fatal: Option[Throwable] = None
  private var running = 0
  private var maxRunning = 0
  private var bestMetric = Double.NaN
  private var stopReason: Option[String] = None
  private var roundsWithoutImprovement = 0
  // Epoch seconds with nanoTime's resolution: fold timestamps of cheap fits stay distinct.
  private val epochAtStart = System.currentTimeMillis() / 1e3
  private val nanosAtStart = System.nanoTime()
  private def now(): Double = epochAtStart + (System.nanoTime() - nanosAtStart) / 1e9

  initial.foreach { r =>
    val t = new Trial(trials.length, Proposal(r.settings, r.vals), System.nanoTime(), numFolds)
    t.result = Some(r.copy(trialId = t.id))
    trials += t
    unreported += TrialOutcome(t.id, r.status, if (largerIsBetter) -r.metric else r.metric,
      r.vals, Some(r.settings))
    if (r.isOk && (bestMetric.isNaN || (if (largerIsBetter) r.metric > bestMetric else r.metric < bestMetric))) {
      bestMetric = r.metric
    }
  }

  /** Stops proposing, cancels this search's running Spark jobs; `run` then returns. */
  def cancel(): Unit = {
    lock.synchronized { cancelled = true; lock.notifyAll() }
    onJobsToCancel()
  }

  /** Progress so far: (trials finished, maxEvals, best metric or NaN). Cheap; for polling. */
  def progress: (Int, Int, Double) = lock.synchronized {
    (trials.count(_.result.nonEmpty), maxEvals, bestMetric)
  }

  /** Fitted sub-models, [fold][trialId], null where a fold did not finish. */
  def subModels: Array[Array[Model[_]]] = lock.synchronized {
    Array.tabulate(numFolds)(f => trials.map(_.models(f)).toArray)
  }

  /**
   * Runs the search to its end.
   * @throws SearchException when the proposer fails or the search is cancelled; it carries
   *                         every trial that had finished
   */
  def run(): SearchOutcome = {
    val pool = Executors.newFixedThreadPool(parallelism, TrialScheduler.workerThreads)
    val deadline = rules.timeoutSeconds.map(t => System.nanoTime() + (t * 1e9).toLong)
    try {
      val loops = (0 until parallelism).map(_ => pool.submit(new Runnable { def run(): Unit = workLoop() }))
      loops.foreach { f =>
        try {
          deadline.map(d => d - System.nanoTime()).filter(_ > 0) match {
            case Some(left) =>
              try f.get(left, TimeUnit.NANOSECONDS) catch {
                case _: TimeoutException => stop(s"timeout (${rules.timeoutSeconds.get} s) reached"); f.get()
              }
            case None =>
              if (deadline.nonEmpty) stop(s"timeout (${rules.timeoutSeconds.get} s) reached")
              f.get()
          }
        } catch { case e: ExecutionException => failSearch(e.getCause) }
      }
    } catch {
      case e: InterruptedException => cancel(); throw e
    } finally {
      pool.shutdownNow()
    }
    lock.synchronized {
      val results = trials.toSeq.map(t => t.result.getOrElse(close(t, TrialResult.Cancelled)))
      fatal match {
        case Some(e) => throw new SearchException(
          s"the search stopped because the proposer failed: ${e.getMessage}", e, results)
        case None if cancelled => throw new SearchException(
          "the search was cancelled", null, results)
        case None =>
          val reason = stopReason.getOrElse(
            if (exhausted) "the proposer had no more settings" else s"maxEvals ($maxEvals) reached")
          SearchOutcome(results, reason, maxRunning)
      }
    }
  }

  /** Ends the search early but normally: no new work, in-flight fits cancelled. */
  private def stop(reason: String): Unit = {
    val first = lock.synchronized {
      val first = stopReason.isEmpty && !cancelled && fatal.isEmpty
      if (first) stopReason = Some(reason)
      lock.notifyAll()
      first
    }
    if (first) { log(s"stopping: $reason"); onJobsToCancel() }
  }

  private def failSearch(e: Throwable): Unit = {
    lock.synchronized {
      if (fatal.isEmpty && !cancelled) fatal = Some(e)
      lock.notifyAll()
    }
    onJobsToCancel()
  }

  private def workLoop(): Unit = {
    var more = true
    while (more) {
      nextWork() match {
        case Stop => more = false
        case Propose(id, finished) => propose(id, finished)
        case RunFold(trial, fold) => runOne(trial, fold)
      }
    }
  }

  private def nextWork(): Work = lock.synchronized {
    var work: Work = null
    while (work == null) {
      if (cancelled || fatal.nonEmpty || stopReason.nonEmpty) {
        work = Stop
      } else trials.find(_.wantsFold) match {
        case Some(t) =>
          t.foldsStarted += 1
          t.foldsRunning += 1
          running += 1
          maxRunning = math.max(maxRunning, running)
          work = RunFold(t, t.foldsStarted - 1)
        case None if !proposing && !exhausted && trials.length < maxEvals =>
          proposing = true
          work = Propose(trials.length, unreported.toList)
          unreported.clear()
        case None if !proposing && running == 0 =>
          work = Stop
        case None =>
          lock.wait()
      }
    }
    work
  }

  private def propose(trialId: Int, finished: Seq[TrialOutcome]): Unit = {
    val proposal = try ProposerThread.call(proposer.next(trialId, finished)) catch {
      case NonFatal(e) => failSearch(e); return
    }
    lock.synchronized {
      proposing = false
      proposal match {
        case Some(p) => trials += new Trial(trialId, p, System.nanoTime(), numFolds)
        case None => exhausted = true
      }
      lock.notifyAll()
    }
  }

  private def runOne(trial: Trial, fold: Int): Unit = {
    val started = now()
    val outcome = try {
      val paramMap = TrialResult.strictParamMap(trial.proposal.settings)
      Right(runFold(FoldTask(trial.id, fold, numFolds, maxEvals, paramMap)))
    } catch {
      case NonFatal(e) => Left(e)
    }
    val ended = now()
    lock.synchronized {
      trial.foldStarts(fold) = started
      trial.foldEnds(fold) = ended
      trial.foldsRunning -= 1
      running -= 1
      outcome match {
        case Right(r) =>
          trial.foldMetrics(fold) = r.metric
          trial.foldDone(fold) = true
          r.model.foreach(m => trial.models(fold) = m)
          trial.foldsDone += 1
          if (trial.foldsDone < numFolds && !trial.pruned && worseThanMedian(trial)) {
            trial.pruned = true
          }
        case Left(e) =>
          if (trial.error.isEmpty) trial.error = Some(TrialScheduler.describe(e))
      }
      if (trial.foldsRunning == 0 &&
          (trial.error.nonEmpty || trial.pruned || trial.foldsDone == numFolds)) {
        val status =
          if (trial.error.isEmpty && trial.foldsDone == numFolds) TrialResult.Ok
          else if (trial.error.isEmpty) TrialResult.Pruned
          else if (cancelled || fatal.nonEmpty || stopReason.nonEmpty) TrialResult.Cancelled
          else TrialResult.Failed
        val result = close(trial, status)
        // A pruned trial reports its partial mean as its loss (as Optuna's TPE reads a pruned
        // trial's last value): worse than the median, so its region counts as poor.
        unreported += TrialOutcome(trial.id, status,
          if (largerIsBetter) -result.metric else result.metric, trial.proposal.vals)
        report(result)
      }
      lock.notifyAll()
    }
    ruleToStop().foreach(stop)
  }

  /** The stop rule a finished trial has triggered, if any (reads state under the lock). */
  private def ruleToStop(): Option[String] = lock.synchronized {
    val reached = rules.targetMetric.filter(t => !bestMetric.isNaN &&
      (if (largerIsBetter) bestMetric >= t else bestMetric <= t))
    reached.map(t => s"targetMetric ($t) reached").orElse(rules.earlyStopRounds
      .filter(roundsWithoutImprovement >= _)
      .map(n => s"no improvement of more than ${rules.earlyStopTolerance} (relative) in $n trials"))
  }

  /**
   * The median stopping rule on folds (call with the lock held): is the trial's mean over its
   * evaluated folds worse than the median, over finished "ok" trials, of their means over the
   * same folds? Comparing on the same folds keeps an easy fold from flattering anyone.
   */
  private def worseThanMedian(t: Trial): Boolean = pruneAfter.exists { minTrials =>
    val folds = (0 until numFolds).filter(t.foldDone)
    def meanOn(metrics: Array[Double]) = folds.map(metrics).sum / folds.size
    val finished = trials.flatMap(_.result).filter(_.isOk).map(r => meanOn(r.foldMetrics)).sorted
    finished.size >= minTrials && {
      val n = finished.size
      val median = if (n % 2 == 1) finished(n / 2) else (finished(n / 2 - 1) + finished(n / 2)) / 2
      val mine = meanOn(t.foldMetrics)
      if (largerIsBetter) mine < median else mine > median
    }
  }

  /** Freezes a trial into its result (call with the lock held). */
  private def close(t: Trial, status: String): TrialResult = {
    val ok = status == TrialResult.Ok || status == TrialResult.Pruned
    val done = t.foldMetrics.indices.filter(t.foldDone).map(t.foldMetrics)
    val mean = if (ok) done.sum / done.size else Double.NaN
    val std = if (ok) math.sqrt(done.map(m => (m - mean) * (m - mean)).sum / done.size)
      else Double.NaN
    val result = TrialResult(t.id, t.proposal.settings, t.proposal.vals, t.foldMetrics.clone(),
      mean, std, status, if (ok) None else t.error.orElse(Some("not finished")),
      (System.nanoTime() - t.startNanos) / 1e9, t.foldStarts.clone(), t.foldEnds.clone())
    t.result = Some(result)
    result
  }

  private def report(r: TrialResult): Unit = {
    val gain = if (largerIsBetter) r.metric - bestMetric else bestMetric - r.metric
    val improves = r.isOk && !r.metric.isNaN &&
      (bestMetric.isNaN || gain > rules.earlyStopTolerance * math.abs(bestMetric))
    if (improves) roundsWithoutImprovement = 0 else roundsWithoutImprovement += 1
    if (r.isOk && (bestMetric.isNaN || (if (largerIsBetter) r.metric > bestMetric else r.metric < bestMetric))) {
      bestMetric = r.metric
    }
    val what =
      if (r.isOk) f"metric ${r.metric}%.6g"
      else if (r.status == TrialResult.Pruned) f"pruned after ${r.foldMetrics.count(!_.isNaN)}/$numFolds folds (partial metric ${r.metric}%.6g)"
      else s"${r.status}: ${r.error.getOrElse("")}"
    log(f"trial ${r.trialId + 1}/$maxEvals $what (best $bestMetric%.6g, ${r.fitSeconds}%.1f s)")
  }
}

private[sparktpe] object TrialScheduler {
  private val poolCount = new AtomicInteger()

  /** A trial in flight (mutable, guarded by the scheduler's lock). */
  private final class Trial(val id: Int, val proposal: Proposal, val startNanos: Long, numFolds: Int) {
    val foldMetrics: Array[Double] = Array.fill(numFolds)(Double.NaN)
    val models: Array[Model[_]] = new Array[Model[_]](numFolds)
    val foldDone: Array[Boolean] = new Array[Boolean](numFolds)
    val foldStarts: Array[Double] = Array.fill(numFolds)(Double.NaN)
    val foldEnds: Array[Double] = Array.fill(numFolds)(Double.NaN)
    var pruned = false
    var foldsStarted = 0
    var foldsRunning = 0
    var foldsDone = 0
    var error: Option[String] = None
    var result: Option[TrialResult] = None
    def wantsFold: Boolean = error.isEmpty && !pruned && foldsStarted < numFolds
  }

  /** What a free worker thread does next. */
  private sealed trait Work
  private case object Stop extends Work
  private final case class Propose(trialId: Int, finished: Seq[TrialOutcome]) extends Work
  private final case class RunFold(trial: Trial, fold: Int) extends Work

  private def workerThreads: ThreadFactory = {
    val pool = poolCount.incrementAndGet()
    val count = new AtomicInteger()
    (r: Runnable) => {
      val t = new Thread(r, s"sparktpe-worker-$pool-${count.incrementAndGet()}")
      t.setDaemon(true)
      t
    }
  }

  /** A one-line error for the trials table: the exception class and message of the root cause. */
  def describe(e: Throwable): String = {
    var root = e
    while (root.getCause != null && root.getCause != root) root = root.getCause
    val top = s"${e.getClass.getName}: ${e.getMessage}"
    if (root eq e) top else s"$top (caused by ${root.getClass.getName}: ${root.getMessage})"
  }
}
