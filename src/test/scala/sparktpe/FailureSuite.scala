package sparktpe

import java.util.concurrent.{CountDownLatch, TimeUnit}
import java.util.concurrent.atomic.AtomicInteger

import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator
import org.apache.spark.ml.tuning.ParamGridBuilder
import org.scalatest.funsuite.AnyFunSuite

/** Searches that end in an error: fatal JVM errors, a failed refit, an interrupted fit thread. */
class FailureSuite extends AnyFunSuite {
  private val data = TestSpark.binary

  private def workers = Thread.getAllStackTraces.keySet.toArray(Array.empty[Thread]).toSeq
    .filter(t => t.isAlive && t.getName.startsWith("sparktpe-worker"))

  // What fails is the test's step, not the fit or its score: a one-iteration logistic regression
  // scored by MulticlassClassificationEvaluator (1 Spark job, not 4) keeps the other fits cheap.
  private def tuner(est: ScriptedEstimator, regs: Seq[Double], parallelism: Int = 1, folds: Int = 2) =
    new BayesianCrossValidator().setEstimator(est.setMaxIter(1))
      .setEstimatorParamMaps(new ParamGridBuilder().addGrid(est.regParam, regs.toArray).build())
      .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(folds)
      .setParallelism(parallelism).setSeed(5)

  for ((name, fatal) <- Seq[(String, () => Throwable)](
      "StackOverflowError" -> (() => new StackOverflowError("planned overflow")),
      "LinkageError" -> (() => new LinkageError("planned linkage failure")))) {
    test(s"a $name in one fit ends the search at once, naming trial and fold, while another fit is blocked") {
      val blocked = new CountDownLatch(1)
      val never = new CountDownLatch(1)
      val est = new ScriptedEstimator().setScript(ScriptedEstimator.register { call =>
        if (call.description == "sparktpe trial 1/2 fold 1/2") {
          blocked.countDown()
          never.await(2, TimeUnit.MINUTES) // interrupted when the search ends
        } else if (call.description == "sparktpe trial 1/2 fold 2/2") {
          blocked.await()
          throw fatal()
        }
      })
      val error = intercept[SearchException](tuner(est, Seq(0.1, 0.2), parallelism = 2).fit(data))
      assert(error.getMessage.startsWith(
        s"trial 1 (trialId 0), fold 2 of 2 died of a fatal error: java.lang.$name: planned"), error.getMessage)
      assert(error.getCause.getClass.getSimpleName == name)
      assert(never.getCount == 1) // the blocked fit was interrupted, not released
      assert(error.trials.map(_.status) == Seq("failed"))
      assert(error.trials.head.error.get.startsWith(s"java.lang.$name: planned"))
      assert(workers.isEmpty, workers.map(_.getName)) // run waited for its workers
    }
  }

  test("a failed refit throws SearchException with every trial and its metrics; initialTrials resumes without refitting them") {
    val fits = new AtomicInteger()
    val failRefit = new java.util.concurrent.atomic.AtomicBoolean(true)
    val est = new ScriptedEstimator().setScript(ScriptedEstimator.register { call =>
      fits.incrementAndGet()
      if (call.isRefit && failRefit.get) throw new IllegalStateException("planned refit failure")
    })
    val error = intercept[SearchException](tuner(est, Seq(0.0, 1.0)).fit(data))
    val expected = tuner(new ScriptedEstimator(), Seq(0.0, 1.0)).fit(data)
    val best = expected.bestTrialId
    assert(error.getMessage.startsWith(s"the refit of the best trial, trial ${best + 1} (trialId $best), " +
      "on the whole input failed: java.lang.IllegalStateException: planned refit failure"), error.getMessage)
    assert(error.trials.map(_.status) == Seq("ok", "ok"))
    assert(error.trials.map(_.metric) == expected.avgMetrics.toSeq)
    assert(error.trialsTable.count() == 2)

    failRefit.set(false)
    fits.set(0)
    val resumed = tuner(est, Seq(0.0, 1.0)).setInitialTrials(error.trialsJson).fit(data)
    assert(fits.get == 1) // the refit alone
    assert(resumed.avgMetrics.toSeq == expected.avgMetrics.toSeq)
    assert(resumed.stopReason == "the proposer had no more settings")
  }

  test("an interrupted fit thread ends the fit with SearchException carrying the finished trials") {
    val entered = new CountDownLatch(1)
    val est = new ScriptedEstimator().setScript(ScriptedEstimator.register { call =>
      if (call.regParam == 0.2) { entered.countDown(); new CountDownLatch(1).await(2, TimeUnit.MINUTES) }
    })
    @volatile var result: Either[Throwable, Any] = null
    @volatile var flagAfter = false
    val fitThread = new Thread(() => {
      result = try Right(tuner(est, Seq(0.1, 0.2, 0.3)).fit(data)) catch { case e: Throwable => Left(e) }
      flagAfter = Thread.currentThread().isInterrupted
    })
    fitThread.start()
    while (!entered.await(20, TimeUnit.MILLISECONDS)) assert(fitThread.isAlive, s"fit ended first: $result")
    fitThread.interrupt()
    fitThread.join()
    val error = result match {
      case Left(e: SearchException) => e
      case other => fail(s"expected a SearchException, got $other " +
        other.swap.toOption.map(_.getStackTrace.take(12).mkString("\n  ")).getOrElse(""))
    }
    assert(error.getMessage == "the search was cancelled: the thread running fit was interrupted")
    assert(error.trials.map(_.status) == Seq("ok", "cancelled"))
    assert(error.trials.head.metric > 0.5)
    assert(flagAfter) // the interrupt is not swallowed
    assert(workers.isEmpty)
  }
}
