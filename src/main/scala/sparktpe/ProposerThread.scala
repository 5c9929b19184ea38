package sparktpe

import java.util.concurrent.{Callable, ExecutionException, ExecutorService, Executors, ThreadFactory, TimeUnit}
import java.util.concurrent.{TimeoutException => JTimeoutException}

/**
 * The one long-lived JVM thread that calls external proposers ([[TrialProposer]]s: Hyperopt in
 * Python). py4j leaves a Python thread and a socket open for each distinct JVM thread that calls
 * back into Python, so calls must not come from the (short-lived) worker pools. Grid and random
 * search are local and cheap: they never come here. Callers wait for the result without holding
 * any lock, and never longer than a deadline: a call that hangs fails with
 * [[ProposerTimeoutException]], and the stuck thread is abandoned (it is a daemon) for a fresh
 * one, so the next call is not queued behind it.
 */
private[sparktpe] object ProposerThread {

  /** The deadline of a call when none is given: 600 seconds. */
  val DefaultTimeoutSeconds: Double = 600.0

  private var threads = 0
  private var executor: ExecutorService = newExecutor()

  private def newExecutor(): ExecutorService = synchronized {
    threads += 1
    val name = if (threads == 1) "sparktpe-proposer" else s"sparktpe-proposer-$threads"
    Executors.newSingleThreadExecutor(new ThreadFactory {
      def newThread(r: Runnable): Thread = {
        val t = new Thread(r, name)
        t.setDaemon(true)
        t
      }
    })
  }

  /** Runs `body` on the proposer thread within the default deadline (600 s). */
  def call[T](body: => T): T = call(DefaultTimeoutSeconds, "the proposer")(body)

  /**
   * Runs `body` on the proposer thread and returns its result or rethrows its exception.
   *
   * @param timeoutSeconds how long to wait for the answer, in seconds (> 0)
   * @param what           names the call in the timeout's message, e.g. "the proposer (trial 7)"
   * @throws ProposerTimeoutException when `body` has not returned within `timeoutSeconds`
   * @throws InterruptedException     when the calling thread is interrupted while it waits
   */
  def call[T](timeoutSeconds: Double, what: String)(body: => T): T = {
    val used = synchronized(executor)
    val future = used.submit(new Callable[T] { def call(): T = body })
    try future.get((timeoutSeconds * 1e9).toLong, TimeUnit.NANOSECONDS) catch {
      case e: ExecutionException => throw e.getCause
      case _: JTimeoutException =>
        abandon(used)
        future.cancel(true)
        throw new ProposerTimeoutException(
          s"$what did not answer within $timeoutSeconds s (set a longer deadline with setProposerTimeout)")
      case e: InterruptedException => future.cancel(true); throw e
    }
  }

  /** Replaces a thread stuck in a call, unless another caller already did. */
  private def abandon(stuck: ExecutorService): Unit = synchronized {
    if (executor eq stuck) {
      stuck.shutdownNow()
      executor = newExecutor()
    }
  }
}

/** An external proposer did not answer within its deadline (`setProposerTimeout`). */
final class ProposerTimeoutException(message: String) extends RuntimeException(message)

/**
 * An external proposer's calls, made on [[ProposerThread]] within `timeoutSeconds` each.
 * Only external proposers are wrapped so; grid and random search run on the worker that asks.
 */
private[sparktpe] final class OnProposerThread(inner: Proposer, timeoutSeconds: Double) extends Proposer {
  def next(trialId: Int, finished: Seq[TrialOutcome]): Option[Proposal] =
    ProposerThread.call(timeoutSeconds, s"the proposer (asked for trialId $trialId)") {
      inner.next(trialId, finished)
    }
}
