package sparktpe

import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicLong

import org.apache.spark.SparkContext

/**
 * One `fit` of a tuner, from its first line to its return: the job tags its Spark jobs carry
 * and its cancellation, which is sticky. After [[cancel]] every running job of the fit is
 * cancelled, every job it starts later is cancelled as it starts ([[CancelledTags]]), and the
 * fit ends at its next check with a [[SearchException]] whose message says "cancelled".
 *
 * @param ownerUid the tuner's uid, part of the tags so they read well in the Spark UI
 */
private[sparktpe] final class FitControl(sc: SparkContext, ownerUid: String) {
  /** On every job of the fit: the fold checks, the trials and the refit. */
  val fitTag: String = s"sparktpe-fit-$ownerUid-${FitControl.count.incrementAndGet()}"
  /** On the trials' jobs only: cancelled when the search ends early (a timeout, a rule, an error). */
  val trialsTag: String = s"$fitTag-trials"

  @volatile private var reason: Option[String] = None
  @volatile private var trialsCancelled = false
  private val hooks = new CopyOnWriteArrayList[String => Unit]()

  /** Cancels the whole fit (idempotent: the first reason is kept). */
  def cancel(why: String): Unit = {
    val first = synchronized {
      val first = reason.isEmpty
      if (first) reason = Some(why)
      first
    }
    if (first) {
      CancelledTags.cancel(sc, fitTag, s"sparktpe fit cancelled: $why")
      hooks.forEach(_(why))
    }
  }

  def cancelReason: Option[String] = reason

  /** Calls `hook(reason)` on cancel, or now if the fit is already cancelled. */
  def onCancel(hook: String => Unit): Unit = {
    hooks.add(hook)
    reason.foreach(hook) // a hook may run twice if cancel races with this: hooks are idempotent
  }

  /** Cancels the trials' jobs, running and future, leaving the rest of the fit (the refit) alone. */
  def cancelTrialJobs(): Unit = {
    trialsCancelled = true
    CancelledTags.cancel(sc, trialsTag, "sparktpe search stopped")
  }

  /** Did this fit cancel its trials' jobs itself? (Else a cancelled trial job came from outside.) */
  def trialJobsCancelled: Boolean = trialsCancelled

  /** The error a cancelled fit ends with. */
  def cancelledError(why: String, trials: Seq[TrialResult], cause: Throwable): SearchException =
    new SearchException(s"the search was cancelled: $why", cause, trials)

  /** Throws the cancelled fit's error, carrying `trials`, if the fit was cancelled. */
  def check(trials: => Seq[TrialResult]): Unit = reason.foreach(r => throw cancelledError(r, trials, null))
}

private[sparktpe] object FitControl {
  private val count = new AtomicLong()
}
