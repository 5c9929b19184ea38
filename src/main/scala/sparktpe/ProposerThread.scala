package sparktpe

import java.util.concurrent.{Callable, ExecutionException, Executors, ThreadFactory}

/**
 * The one long-lived JVM thread that calls every proposer. py4j leaves a Python thread and a
 * socket open for each distinct JVM thread that calls back into Python, so calls must not come
 * from the (short-lived) worker pools. Callers wait for the result without holding any lock.
 */
private[sparktpe] object ProposerThread {

  private lazy val executor = Executors.newSingleThreadExecutor(new ThreadFactory {
    def newThread(r: Runnable): Thread = {
      val t = new Thread(r, "sparktpe-proposer")
      t.setDaemon(true)
      t
    }
  })

  /** Runs `body` on the proposer thread and returns its result or rethrows its exception. */
  def call[T](body: => T): T = {
    val future = executor.submit(new Callable[T] { def call(): T = body })
    try future.get() catch {
      case e: ExecutionException => throw e.getCause
      case e: InterruptedException => future.cancel(true); throw e
    }
  }
}
