package sparktpe

import java.util.concurrent.{CountDownLatch, TimeUnit}
import java.util.concurrent.atomic.{AtomicBoolean, AtomicInteger, AtomicReference}

import org.apache.spark.scheduler.{SparkListener, SparkListenerJobStart}
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator
import org.apache.spark.ml.tuning.ParamGridBuilder
import org.scalatest.funsuite.AnyFunSuite

/**
 * Cancellation is sticky and total: `cancel()` at any step of `fit`, the caller's job group
 * cancelled, jobs started after a cancel. Every race is ordered by latches: a test estimator
 * step (or a Spark task) waits until the test has done its part.
 */
class CancellationSuite extends AnyFunSuite {
  private val data = TestSpark.binary
  private val sc = TestSpark.spark.sparkContext
  JobRecorder.install()

  // Cancellation does not depend on how a trial is scored: MulticlassClassificationEvaluator
  // takes 1 Spark job (BinaryClassificationEvaluator 4).
  private def tuner(est: ScriptedEstimator, regs: Seq[Double], folds: Int = 2) =
    new BayesianCrossValidator().setEstimator(est)
      .setEstimatorParamMaps(new ParamGridBuilder().addGrid(est.regParam, regs.toArray).build())
      .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(folds).setSeed(5)

  /** `body` running on a new thread (with the caller's job group `group`, if given). */
  private final class Background[T](group: Option[String])(body: => T) {
    private val result = new AtomicReference[Either[Throwable, T]]()
    private val thread = new Thread(() => {
      group.foreach(g => sc.setJobGroup(g, "the caller's own group"))
      result.set(try Right(body) catch { case e: Throwable => Left(e) })
    })
    thread.start()

    /** Waits until `latch` opens; fails the test at once if `body` ends first. */
    def awaitOrFail(latch: CountDownLatch): Unit =
      while (!latch.await(20, TimeUnit.MILLISECONDS)) {
        if (!thread.isAlive) fail(s"ended before the test's cue: ${result.get}")
      }

    def join(): Either[Throwable, T] = { thread.join(); result.get }
  }

  private def onThread[T](group: Option[String] = None)(body: => T) = new Background(group)(body)

  private def cancelled[T](outcome: Either[Throwable, T]): SearchException = outcome match {
    case Left(e: SearchException) => e
    case other => fail(s"expected a SearchException, got $other")
  }

  test("cancel() while a fit is blocked inside a Spark job ends the fit, keeping the finished trials") {
    val entered = new CountDownLatch(1)
    val est = new ScriptedEstimator().setMaxIter(1).setScript(ScriptedEstimator.register { call =>
      if (call.regParam == 0.2) ScriptedEstimator.blockingJob(call, entered, new CountDownLatch(1))
    })
    val cv = tuner(est, Seq(0.1, 0.2, 0.3))
    val fit = onThread()(cv.fit(data))
    fit.awaitOrFail(entered)
    cv.cancel()
    val error = cancelled(fit.join())
    assert(error.getMessage == "the search was cancelled: cancel() was called")
    assert(error.trials.map(t => (t.settings.head._2, t.status)) == Seq((0.1, "ok"), (0.2, "cancelled")))
    assert(JobRecorder.drained(sc))
    assert(JobRecorder.withTagPrefix(JobRecorder.fitTagPrefix(cv.uid)).exists(_.succeeded.contains(false)))
  }

  test("cancel() between two Spark jobs of a fit: the next job is cancelled as it starts") {
    val between = new CountDownLatch(1)
    val go = new CountDownLatch(1)
    val interruptSeen = new CountDownLatch(1)
    val secondJob = new AtomicReference[Either[Throwable, Unit]]()
    val est = new ScriptedEstimator().setMaxIter(1).setScript(ScriptedEstimator.register { call =>
      if (call.regParam == 0.2 && !call.isRefit && secondJob.get == null) {
        call.dataset.count()
        between.countDown()
        // Code that swallows interrupts (many libraries do) and goes on to its next job.
        ScriptedEstimator.awaitIgnoringInterrupts(go, interruptSeen)
        val interrupted = Thread.interrupted()
        // Would run for 2 minutes: only a cancel ends it sooner.
        secondJob.set(try Right(ScriptedEstimator.blockingJob(call, new CountDownLatch(2), new CountDownLatch(1)))
          catch { case e: Throwable => Left(e) })
        if (interrupted) Thread.currentThread().interrupt()
      }
    })
    val cv = tuner(est, Seq(0.1, 0.2))
    val fit = onThread()(cv.fit(data))
    fit.awaitOrFail(between)
    cv.cancel()
    // The search interrupts its workers once as it ends; only after that interrupt (swallowed
    // above) does the fit go on, so the next job is stopped by the sticky cancel, not an interrupt.
    fit.awaitOrFail(interruptSeen)
    go.countDown()
    val error = cancelled(fit.join())
    assert(error.getMessage.contains("cancelled"))
    assert(secondJob.get.swap.toOption.exists(e => SparkJobs.isJobCancellation(e)), secondJob.get)
    assert(error.trials.head.status == "ok")
  }

  test("cancel() during an iterative LogisticRegression fit stops it, and no job of the fit succeeds after") {
    val cancelledAt = new AtomicInteger(-1)
    val est = new ScriptedEstimator().setMaxIter(200)
    val cv = tuner(est, Seq(0.0, 0.001))
    val prefix = JobRecorder.fitTagPrefix(cv.uid)
    val listener = new SparkListener {
      private val seen = new AtomicInteger()
      override def onJobStart(job: SparkListenerJobStart): Unit = {
        val ours = Option(job.properties.getProperty("spark.job.tags")).exists(_.contains(prefix))
        // The 4th job of the search's first fold: inside LogisticRegression's iterations.
        if (ours && seen.incrementAndGet() == 4) { cancelledAt.set(job.jobId); cv.cancel() }
      }
    }
    sc.addSparkListener(listener)
    try {
      val error = intercept[SearchException](cv.fit(data))
      assert(error.getMessage == "the search was cancelled: cancel() was called")
      assert(error.trials.map(_.status) == Seq("cancelled"))
    } finally sc.removeSparkListener(listener)
    assert(JobRecorder.drained(sc))
    val after = JobRecorder.withTagPrefix(prefix).filter(_.id >= cancelledAt.get)
    assert(after.nonEmpty && after.forall(_.succeeded.contains(false)), after)
  }

  test("cancel() from a listener as the refit's first job starts: the refit's later jobs are cancelled") {
    val cancelledNow = new CountDownLatch(1)
    val refitFinished = new AtomicBoolean(false)
    val est = new ScriptedEstimator().setMaxIter(1).setScript(ScriptedEstimator.register { call =>
      if (call.isRefit) {
        call.dataset.count() // the refit's first job
        cancelledNow.await(2, TimeUnit.MINUTES)
      }
    })
    val cv = tuner(est, Seq(0.1, 0.2))
    val listener = new SparkListener {
      override def onJobStart(job: SparkListenerJobStart): Unit =
        if (Option(job.properties.getProperty("spark.job.description")).exists(_.startsWith("sparktpe refit"))) {
          cv.cancel()
          cancelledNow.countDown()
        }
    }
    sc.addSparkListener(listener)
    val error = try intercept[SearchException] { cv.fit(data); refitFinished.set(true) }
      finally sc.removeSparkListener(listener)
    assert(!refitFinished.get)
    assert(error.getMessage.startsWith("the search was cancelled: cancel() was called (during the refit of " +
      "the best trial"), error.getMessage)
    assert(error.trials.map(_.status) == Seq("ok", "ok") && error.trials.forall(_.metric > 0.5))
    // Not poisoned: the same instance fits again.
    est.setScript("")
    assert(cv.fit(data).trialResults.map(_.status) == Seq("ok", "ok"))
  }

  test("cancel() while fit checks the schema, before any job: no job runs, and later fits are unaffected") {
    val inSchema = new CountDownLatch(1)
    val resume = new CountDownLatch(1)
    val est = new ScriptedEstimator().setMaxIter(1)
    val name = ScriptedEstimator.register(_ => ())
    ScriptedEstimator.schemaSteps.put(name, () => { inSchema.countDown(); resume.await(2, TimeUnit.MINUTES) })
    est.setScript(name)
    val cv = tuner(est, Seq(0.1, 0.2)).setFoldCol("fold").setNumFolds(3)
    val fit = onThread()(cv.fit(data))
    fit.awaitOrFail(inSchema)
    cv.cancel()
    resume.countDown()
    val error = cancelled(fit.join())
    assert(error.getMessage == "the search was cancelled: cancel() was called")
    assert(error.trials.isEmpty)
    assert(JobRecorder.drained(sc))
    assert(JobRecorder.withTagPrefix(JobRecorder.fitTagPrefix(cv.uid)).isEmpty)
    ScriptedEstimator.schemaSteps.remove(name)
    assert(cv.fit(data).trialResults.map(_.status) == Seq("ok", "ok"))
  }

  test("our jobs keep the caller's job group and tags, the fold check's job included") {
    val cv = tuner(new ScriptedEstimator().setMaxIter(1), Seq(0.1, 0.2), folds = 3).setFoldCol("fold")
    val group = s"caller-group-${cv.uid}"
    val fit = onThread(Some(group)) {
      sc.addJobTag("caller-tag")
      try cv.fit(data) finally sc.removeJobTag("caller-tag")
    }
    assert(fit.join().isRight, fit.join())
    assert(JobRecorder.drained(sc))
    val ours = JobRecorder.withTagPrefix(JobRecorder.fitTagPrefix(cv.uid))
    assert(ours.exists(_.description == s"sparktpe ${cv.uid}: checking the folds"))
    assert(ours.exists(_.description == "sparktpe trial 2/2 fold 3/3"))
    assert(ours.exists(_.description.startsWith("sparktpe refit best trial")))
    assert(ours.forall(j => j.group == group && j.tags.contains("caller-tag")), ours)
    assert(ours.map(_.id).toSet.subsetOf(sc.statusTracker.getJobIdsForGroup(group).toSet))

    // Spark's CrossValidator does the same: its jobs run in the caller's group, with its tags.
    val sparkGroup = s"spark-caller-group-${cv.uid}"
    val sparkTag = s"spark-caller-tag-${cv.uid}"
    val lr = new org.apache.spark.ml.classification.LogisticRegression().setMaxIter(1)
    val sparkFit = onThread(Some(sparkGroup)) {
      sc.addJobTag(sparkTag)
      try new org.apache.spark.ml.tuning.CrossValidator().setEstimator(lr)
        .setEstimatorParamMaps(new ParamGridBuilder().addGrid(lr.regParam, Array(0.1, 0.2)).build())
        .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(3).setFoldCol("fold").fit(data)
      finally sc.removeJobTag(sparkTag)
    }
    assert(sparkFit.join().isRight)
    assert(JobRecorder.drained(sc))
    val sparks = JobRecorder.withTagPrefix(sparkTag)
    assert(sparks.nonEmpty && sparks.forall(_.group == sparkGroup))
    assert(sparks.map(_.id).toSet == sc.statusTracker.getJobIdsForGroup(sparkGroup).toSet)
  }

  test("cancelling the caller's job group stops our fit, as it stops Spark's tuners") {
    val entered = new CountDownLatch(1)
    val est = new ScriptedEstimator().setMaxIter(1).setScript(ScriptedEstimator.register { call =>
      if (call.regParam == 0.2) ScriptedEstimator.blockingJob(call, entered, new CountDownLatch(1))
    })
    val cv = tuner(est, Seq(0.1, 0.2, 0.3))
    val group = s"caller-group-${cv.uid}"
    val fit = onThread(Some(group))(cv.fit(data))
    fit.awaitOrFail(entered)
    sc.cancelJobGroup(group)
    val error = cancelled(fit.join())
    assert(error.getMessage.startsWith("the search was cancelled: a Spark job of this fit was cancelled: "),
      error.getMessage)
    assert(error.getMessage.contains(s"cancelled part of cancelled job group $group"), error.getMessage)
    assert(error.trials.map(t => (t.settings.head._2, t.status)) == Seq((0.1, "ok"), (0.2, "cancelled")))

    // Spark's CrossValidator on the same estimator and grid: the cancelled group ends its fit too.
    val sparkEntered = new CountDownLatch(1)
    val sparkEst = new ScriptedEstimator().setMaxIter(1).setScript(ScriptedEstimator.register { call =>
      if (call.regParam == 0.2) ScriptedEstimator.blockingJob(call, sparkEntered, new CountDownLatch(1))
    })
    val sparkGroup = s"spark-caller-group-${cv.uid}"
    val sparkFit = onThread(Some(sparkGroup)) {
      new org.apache.spark.ml.tuning.CrossValidator().setEstimator(sparkEst)
        .setEstimatorParamMaps(new ParamGridBuilder().addGrid(sparkEst.regParam, Array(0.1, 0.2, 0.3)).build())
        .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(2).setSeed(5).fit(data)
    }
    sparkFit.awaitOrFail(sparkEntered)
    sc.cancelJobGroup(sparkGroup)
    val sparkError = sparkFit.join().swap.toOption
    assert(sparkError.exists(SparkJobs.isJobCancellation), sparkError)
  }
}
