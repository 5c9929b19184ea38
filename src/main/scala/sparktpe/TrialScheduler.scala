package sparktpe

import java.util.concurrent.{ExecutorService, Executors, ThreadFactory, TimeUnit}
import java.util.concurrent.atomic.AtomicInteger

import scala.collection.mutable
import scala.collection.mutable.ArrayBuffer
import scala.util.control.NonFatal

import org.apache.spark.ml.Model
import org.apache.spark.ml.param.ParamMap

/** One (trial, fold) work item handed to the fold runner. */
private[sparktpe] final case class FoldTask(
    trialId: Int, fold: Int, numFolds: Int, maxEvals: Int, paramMap: ParamMap)

/** What a search ended with: every trial in trial order, and why it stopped. */
private[sparktpe] final case class SearchOutcome(
    trials: Seq[TrialResult], stopReason: String, maxConcurrentFolds: Int)

/**
 * The search loop's mechanics: a fixed pool of `parallelism` threads running (trial, fold) work
 * items with no barrier. A free thread first takes the next unstarted fold of the oldest trial
 * in flight, then a setting to retry (see [[WarmStart]]), and only when there is neither asks the
 * proposer for a new trial. So with `parallelism <= numFolds` trials finish one after another,
 * and an adaptive proposer sees each result before it proposes again, while every thread stays
 * busy. The policies are objects it consults: [[StoppingRule]]s after each finished trial, the
 * [[Timeout]] on its clock, [[MedianPruning]] after each fold and before starting one.
 *
 * With pruning, the policy may hold a trial's next fold (the trial awaits a verdict that may
 * abandon it). A free thread then takes the next fold of the oldest trial not held, else starts
 * a new trial, so at `parallelism > 1` first folds of new trials run while verdicts are pending.
 * When no new trial can start (maxEvals reached, the proposer exhausted), a free thread runs
 * the held fold of the oldest trial instead of idling: every held fold runs or is pruned, and
 * a search never waits on itself. Without pruning nothing is held and the order is as above.
 *
 * State is guarded by one lock that is never held while a fit or a proposer runs. Proposals are
 * made one at a time, on the worker that wants one (an external proposer wraps itself in
 * [[OnProposerThread]]).
 *
 * How a search ends: normally (maxEvals reached, the proposer exhausted, a stopping rule); or
 * cancelled ([[cancel]], an interrupted `run` thread); or failed (the proposer threw, or a fit
 * died of a fatal JVM error such as `StackOverflowError`, `OutOfMemoryError` or `LinkageError`).
 * The first of these to happen wins. On any early end the search's Spark jobs are cancelled
 * (`onJobsToCancel`), the worker threads are interrupted and `run` waits for them (at most
 * [[TrialScheduler.WorkerGraceSeconds]]), so no worker outlives it. `run` watches every worker
 * at once, so whichever ends first is seen at once.
 *
 * @param maxEvals       trials in all, carried-over ones included
 * @param runFold        fits and evaluates one work item; a non-fatal exception fails only that
 *                       trial, a fatal one fails the search
 * @param onJobsToCancel cancels the Spark jobs of this search's trials (on any early end)
 * @param log            receives one line per finished trial and one when the search stops
 * @param pruning        abandons trials after a fold and holds their next fold until its
 *                       verdict (None: no pruning)
 * @param warmStart      trials of an earlier search: carried-over trials keep the first trial
 *                       ids, count as finished and are heard by the proposer first; retried
 *                       settings run next
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
    pruning: Option[MedianPruning] = None,
    warmStart: WarmStart = WarmStart.none) {
  import TrialScheduler._

  private val lock = new Object
  private val trials = ArrayBuffer.empty[Trial]
  private val retries = mutable.Queue(warmStart.retried: _*)
  private val unreported = ArrayBuffer.empty[TrialOutcome]
  private val stoppingRules = rules.afterTrialRules(largerIsBetter)
  private val best = new BestMetric(largerIsBetter)
  private var proposing = false
  private var exhausted = false
  private var end: Option[Ending] = None
  private var running = 0
  private var maxRunning = 0
  private var liveWorkers = 0
  // Epoch seconds with nanoTime's resolution: fold timestamps of cheap fits stay distinct.
  private val epochAtStart = System.currentTimeMillis() / 1e3
  private val nanosAtStart = System.nanoTime()
  private def now(): Double = epochAtStart + (System.nanoTime() - nanosAtStart) / 1e9

  warmStart.carried.foreach { r =>
    val t = Trial.carried(trials.length, r, numFolds)
    trials += t
    unreported += TrialOutcome(t.id, r.status, loss(r), r.vals, Some(r.settings))
    stoppingRules.foreach(_.carriedOver(r))
    best.offer(r)
  }

  /** Ends the search as cancelled (no new work, running jobs cancelled); `run` then throws. */
  def cancel(reason: String = "cancel() was called"): Unit = endWith(Cancelled(reason))

  /** Progress so far: (trials finished, maxEvals, best metric or NaN). Cheap; for polling. */
  def progress: (Int, Int, Double) = lock.synchronized {
    (trials.count(_.result.nonEmpty), maxEvals, best.value)
  }

  /** Fitted sub-models, [fold][trialId], null where a fold did not run in this search. */
  def subModels: Array[Array[Model[_]]] = lock.synchronized {
    Array.tabulate(numFolds)(f => trials.map(_.models(f)).toArray)
  }

  /**
   * Runs the search to its end; call once.
   * @throws SearchException when the search is cancelled, the thread running it is
   *                         interrupted (its interrupt flag is then set again), the proposer
   *                         fails or a fit dies of a fatal error; it carries every trial
   */
  def run(): SearchOutcome = {
    val pool = Executors.newFixedThreadPool(parallelism, workerThreads)
    val deadline = rules.timeout.map(_.deadlineNanos(System.nanoTime()))
    lock.synchronized { liveWorkers = parallelism }
    var interrupted = false
    try {
      (0 until parallelism).foreach(_ => pool.execute(() => workerMain()))
      waitForEnd(deadline)
    } catch {
      case _: InterruptedException =>
        interrupted = true
        endWith(Cancelled("the thread running fit was interrupted"))
    } finally {
      pool.shutdownNow() // interrupts the fits still running: the search is over
      interrupted = !awaitWorkers(pool) || interrupted
    }
    if (interrupted) Thread.currentThread().interrupt()
    outcome()
  }

  /** Waits until every worker has finished, the search ends early, or the timeout is reached. */
  private def waitForEnd(deadline: Option[Long]): Unit = {
    var timedOut = false
    lock.synchronized {
      while (liveWorkers > 0 && end.isEmpty && !timedOut) deadline match {
        case Some(d) =>
          val left = d - System.nanoTime()
          if (left <= 0) timedOut = true else TimeUnit.NANOSECONDS.timedWait(lock, left)
        case None => lock.wait()
      }
    }
    if (timedOut) endWith(Stopped(rules.timeout.get.reason))
  }

  /** Waits for interrupted workers to finish; false if this thread was interrupted meanwhile. */
  private def awaitWorkers(pool: ExecutorService): Boolean = {
    val until = System.nanoTime() + (WorkerGraceSeconds * 1e9).toLong
    var wasInterrupted = false
    var waited = false
    while (!waited) {
      try { pool.awaitTermination(until - System.nanoTime(), TimeUnit.NANOSECONDS); waited = true }
      catch { case _: InterruptedException => wasInterrupted = true }
    }
    if (!pool.isTerminated) {
      log(s"worker threads still running $WorkerGraceSeconds s after being interrupted; left behind")
    }
    !wasInterrupted
  }

  private def outcome(): SearchOutcome = lock.synchronized {
    val results = trials.toSeq.map(t => t.result.getOrElse(close(t, TrialResult.Cancelled)))
    end match {
      case Some(Failed(message, cause)) => throw new SearchException(message, cause, results)
      case Some(Cancelled(reason)) =>
        throw new SearchException(s"the search was cancelled: $reason", null, results)
      case Some(Stopped(reason)) => SearchOutcome(results, reason, maxRunning)
      case None =>
        val reason = if (exhausted) "the proposer had no more settings" else s"maxEvals ($maxEvals) reached"
        SearchOutcome(results, reason, maxRunning)
    }
  }

  /** Ends the search early unless it already ended; the first end wins. */
  private def endWith(ending: Ending): Unit = {
    val first = lock.synchronized {
      val first = end.isEmpty
      if (first) end = Some(ending)
      lock.notifyAll()
      first
    }
    if (first) {
      log(s"stopping: ${ending.describe}")
      onJobsToCancel()
    }
  }

  private def workerMain(): Unit = {
    try {
      var more = true
      while (more) nextWork() match {
        case Stop => more = false
        case Propose(id, finished) => propose(id, finished)
        case RunFold(trial, fold) => runOne(trial, fold)
      }
    } catch {
      case _: InterruptedException => endWith(Cancelled("a worker thread was interrupted"))
      case e: Throwable => endWith(Failed(s"a worker thread of the search failed: ${describe(e)}", e))
    } finally {
      lock.synchronized { liveWorkers -= 1; lock.notifyAll() }
    }
  }

  private def nextWork(): Work = lock.synchronized {
    var work: Work = null
    while (work == null) {
      lazy val finished = trials.toSeq.flatMap(_.result)
      def held(t: Trial) = pruning.exists(_.holdsNextFold(t.foldsRunning, finished))
      val newTrialPossible = !exhausted && trials.length < maxEvals
      if (end.nonEmpty) {
        work = Stop
      } else trials.find(t => t.wantsFold && !held(t)) match {
        case Some(t) =>
          work = startFold(t)
        case None if !proposing && retries.nonEmpty && trials.length < maxEvals =>
          trials += new Trial(trials.length, retries.dequeue(), System.nanoTime(), numFolds, retried = true)
        case None if !proposing && newTrialPossible =>
          proposing = true
          work = Propose(trials.length, unreported.toList)
          unreported.clear()
        case None if !proposing && trials.exists(_.wantsFold) =>
          // No new trial can start: rather than idle until a verdict, run a held fold (oldest
          // trial first). It is wasted only if that trial is then pruned.
          work = startFold(trials.find(_.wantsFold).get)
        case None if !proposing && running == 0 =>
          work = Stop
        case None =>
          lock.wait()
      }
    }
    work
  }

  /** Starts `t`'s next fold (call with the lock held). */
  private def startFold(t: Trial): Work = {
    t.foldsStarted += 1
    t.foldsRunning += 1
    running += 1
    maxRunning = math.max(maxRunning, running)
    RunFold(t, t.foldsStarted - 1)
  }

  private def propose(trialId: Int, finished: Seq[TrialOutcome]): Unit = {
    var proposal: Option[Proposal] = None
    try proposal = proposer.next(trialId, finished) catch {
      case _: InterruptedException => endWith(Cancelled("a worker thread was interrupted"))
      case e: Throwable => endWith(Failed(s"the search stopped because the proposer failed: ${e.getMessage}", e))
    } finally lock.synchronized {
      proposing = false
      if (end.isEmpty) proposal match {
        case Some(p) => trials += new Trial(trialId, p, System.nanoTime(), numFolds)
        case None => exhausted = true
      }
      lock.notifyAll()
    }
  }

  private def runOne(trial: Trial, fold: Int): Unit = {
    val started = now()
    var outcome: Either[Throwable, FoldResult] = Left(new IllegalStateException("the fold did not report"))
    var stopBecause: Option[String] = None
    try {
      val paramMap = TrialResult.strictParamMap(trial.proposal.settings)
      outcome = Right(runFold(FoldTask(trial.id, fold, numFolds, maxEvals, paramMap)))
    } catch {
      case e: Throwable => outcome = Left(e)
    } finally {
      stopBecause = record(trial, fold, started, now(), outcome)
    }
    outcome match {
      case Left(_: InterruptedException) => endWith(Cancelled("a worker thread was interrupted"))
      case Left(e) if !NonFatal(e) => endWith(Failed(
        s"trial ${trial.id + 1} (trialId ${trial.id}), fold ${fold + 1} of $numFolds died of a fatal " +
          s"error: ${describe(e)}; the search was stopped", e))
      case _ => stopBecause.foreach(reason => endWith(Stopped(reason)))
    }
  }

  /**
   * Records a fold's outcome, closes its trial when it is over, and consults the stopping rules.
   * @return why the search should stop now, if a rule says so
   */
  private def record(trial: Trial, fold: Int, started: Double, ended: Double,
      outcome: Either[Throwable, FoldResult]): Option[String] = lock.synchronized {
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
        if (!trial.pruned && pruning.exists(_.shouldPrune(trial.foldMetrics, trial.foldDone,
            trials.toSeq.flatMap(_.result)))) {
          trial.pruned = true
        }
      case Left(e) =>
        if (trial.error.isEmpty) trial.error = Some(describe(e))
        // An error before the search ended is the trial's own; after, it is the cancellation's.
        if (end.isEmpty) trial.failed = true
    }
    lock.notifyAll()
    val over = trial.foldsRunning == 0 &&
      (trial.error.nonEmpty || trial.pruned || trial.foldsDone == numFolds)
    if (!over || trial.result.nonEmpty) None else {
      val status =
        if (trial.error.isEmpty && trial.foldsDone == numFolds) TrialResult.Ok
        else if (trial.error.isEmpty) TrialResult.Pruned
        else if (trial.failed) TrialResult.Failed
        else TrialResult.Cancelled
      val result = close(trial, status)
      // A pruned trial reports its partial mean as its loss (as Optuna's TPE reads a pruned
      // trial's last value): worse than the median, so its region counts as poor. A retried
      // setting was not proposed in this search: the proposer learns it with its settings.
      unreported += TrialOutcome(trial.id, status, loss(result), trial.proposal.vals,
        if (trial.retried) Some(trial.proposal.settings) else None)
      best.offer(result)
      log(line(result))
      if (end.nonEmpty) None else stoppingRules.flatMap(_.afterTrial(result)).headOption
    }
  }

  /** What the proposer minimises: the metric, negated when larger is better. */
  private def loss(r: TrialResult): Double = if (largerIsBetter) -r.metric else r.metric

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

  private def line(r: TrialResult): String = {
    val what =
      if (r.isOk) f"metric ${r.metric}%.6g"
      else if (r.status == TrialResult.Pruned) f"pruned after ${r.foldMetrics.count(!_.isNaN)}/$numFolds folds (partial metric ${r.metric}%.6g)"
      else s"${r.status}: ${r.error.getOrElse("")}"
    f"trial ${r.trialId + 1}/$maxEvals $what (best ${best.value}%.6g, ${r.fitSeconds}%.1f s)"
  }
}

private[sparktpe] object TrialScheduler {
  /** How long `run` waits for interrupted workers to finish before leaving them behind. */
  val WorkerGraceSeconds = 30

  private val poolCount = new AtomicInteger()

  /** A trial in flight (mutable, guarded by the scheduler's lock). */
  private final class Trial(
      val id: Int, val proposal: Proposal, val startNanos: Long, numFolds: Int,
      val retried: Boolean = false) {
    val foldMetrics: Array[Double] = Array.fill(numFolds)(Double.NaN)
    val models: Array[Model[_]] = new Array[Model[_]](numFolds)
    val foldDone: Array[Boolean] = new Array[Boolean](numFolds)
    val foldStarts: Array[Double] = Array.fill(numFolds)(Double.NaN)
    val foldEnds: Array[Double] = Array.fill(numFolds)(Double.NaN)
    var pruned = false
    var failed = false
    var foldsStarted = 0
    var foldsRunning = 0
    var foldsDone = 0
    var error: Option[String] = None
    var result: Option[TrialResult] = None
    def wantsFold: Boolean = result.isEmpty && error.isEmpty && !pruned && foldsStarted < numFolds
  }

  private object Trial {
    /** A trial of an earlier search: finished as it was, none of its folds runs again. */
    def carried(id: Int, r: TrialResult, numFolds: Int): Trial = {
      val t = new Trial(id, Proposal(r.settings, r.vals), System.nanoTime(), numFolds)
      t.foldsStarted = numFolds
      t.result = Some(r.copy(trialId = id))
      t
    }
  }

  /** What a free worker thread does next. */
  private sealed trait Work
  private case object Stop extends Work
  private final case class Propose(trialId: Int, finished: Seq[TrialOutcome]) extends Work
  private final case class RunFold(trial: Trial, fold: Int) extends Work

  /** Why a search ended before its proposer and budget ran out. */
  private sealed trait Ending { def describe: String }
  /** A stopping rule or the timeout: a normal end. */
  private final case class Stopped(reason: String) extends Ending { def describe: String = reason }
  private final case class Cancelled(reason: String) extends Ending {
    def describe: String = s"cancelled: $reason"
  }
  private final case class Failed(message: String, cause: Throwable) extends Ending {
    def describe: String = message
  }

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
