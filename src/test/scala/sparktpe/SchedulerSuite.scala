package sparktpe

import java.util.concurrent.{CountDownLatch, TimeUnit}

import org.apache.spark.TaskContext
import org.apache.spark.ml.classification.LogisticRegression
import org.apache.spark.ml.evaluation.{BinaryClassificationEvaluator, MulticlassClassificationEvaluator}
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.tuning.ParamGridBuilder
import org.apache.spark.storage.StorageLevel
import org.scalatest.funsuite.AnyFunSuite

/** The work-item pool: its bound, its job tags, failures and cancellation. */
class SchedulerSuite extends AnyFunSuite {
  private val data = TestSpark.binary
  private val sc = TestSpark.spark.sparkContext

  // The pool does not care what a work item fits or how it is scored: a one-iteration logistic
  // regression (about 3 Spark jobs, not 8 at maxIter 5) scored by MulticlassClassificationEvaluator
  // (1 job, not BinaryClassificationEvaluator's 4) makes each item cheap.
  private def counting(parallelism: Int, regs: Seq[Double], failAt: Double = -1.0) = {
    val est = new CountingEstimator().setFailAt(failAt).setMaxIter(1)
    val grid = new ParamGridBuilder().addGrid(est.regParam, regs.toArray).build()
    new BayesianCrossValidator().setEstimator(est).setEstimatorParamMaps(grid)
      .setEvaluator(new MulticlassClassificationEvaluator()).setParallelism(parallelism).setSeed(5)
  }

  for (parallelism <- Seq(1, 2, 3)) {
    test(s"at most $parallelism work items run at once, and that many do (parallelism $parallelism)") {
      CountingEstimator.reset(gate = parallelism)
      // 2 trials of 2 folds: 4 work items, one more than the largest pool, so a pool that ran
      // more than its bound would be seen to (the first `parallelism` wait for each other).
      val model = counting(parallelism, Seq(0.0, 0.01)).setNumFolds(2).fit(data)
      assert(model.avgMetrics.length == 2)
      assert(CountingEstimator.maxRunning.get == parallelism)
      assert(CountingEstimator.running.get == 0)
    }
  }

  test("every job of a work item carries a readable description") {
    TestSpark.jobDescriptions.clear()
    counting(2, Seq(0.0, 0.1)).setNumFolds(2).fit(data)
    val expected = for (t <- 1 to 2; f <- 1 to 2) yield s"sparktpe trial $t/2 fold $f/2"
    assert(TestSpark.eventually(expected.forall(TestSpark.descriptions.contains)), TestSpark.descriptions.distinct)
    assert(TestSpark.eventually(TestSpark.descriptions.exists(_.startsWith("sparktpe refit best trial"))))
    assert(!TestSpark.descriptions.exists(_.contains("trial 3/")))
  }

  test("progressJson reports finished trials out of maxEvals while the search runs") {
    val cv = counting(1, Seq(0.0, 0.1, 0.2)).setNumFolds(2)
    assert(cv.progressJson() == """{"finished": 0, "total": 0, "best": null}""")
    val runner = new Thread(() => cv.fit(data))
    runner.start()
    var seen = Set.empty[String]
    var cachedWhileRunning = false
    while (runner.isAlive) {
      seen += cv.progressJson()
      cachedWhileRunning ||= data.storageLevel != StorageLevel.NONE
      Thread.sleep(20)
    }
    assert(seen.exists(_.startsWith("""{"finished": 2, "total": 3, "best": 0.""")), seen)
    // the input is cached for the search and released after it
    assert(cachedWhileRunning)
    assert(data.storageLevel == StorageLevel.NONE)
  }

  test("cancel() stops only this search's jobs, and no worker thread outlives a fit") {
    def workers = Thread.getAllStackTraces.keySet.toArray(Array.empty[Thread]).toSeq
      .filter(t => t.isAlive && t.getName.startsWith("sparktpe-worker"))
    for (_ <- 1 to 2) counting(2, Seq(0.0, 0.1)).setNumFolds(2).fit(data)
    assert(TestSpark.eventually(workers.isEmpty), workers.map(_.getName))
    assert(Thread.getAllStackTraces.keySet.toArray(Array.empty[Thread]).count(_.getName == "sparktpe-proposer") <= 1)

    // Another job of the same session, in its own group, must survive the tuner's cancel(). Its
    // one task (on one of the two cores) runs until the search has been cancelled and has ended;
    // the search is cancelled while a job of its trial 2 runs (on the other core).
    SchedulerSuite.otherRunning = new CountDownLatch(1)
    SchedulerSuite.otherRelease = new CountDownLatch(1)
    @volatile var otherResult: Either[Throwable, Long] = null
    val other = new Thread(() => {
      sc.setJobGroup("not-the-tuner", "a user's own job")
      otherResult = try Right(sc.parallelize(1 to 4, 1).map { x =>
        SchedulerSuite.otherRunning.countDown()
        val until = System.nanoTime() + TimeUnit.MINUTES.toNanos(2)
        while (!SchedulerSuite.otherRelease.await(20, TimeUnit.MILLISECONDS) &&
          !TaskContext.get().isInterrupted() && System.nanoTime() < until) {}
        x.toLong
      }.reduce(_ + _))
        catch { case e: Throwable => Left(e) }
    })
    val searchBlocked = new CountDownLatch(1)
    val est = new ScriptedEstimator().setMaxIter(1).setScript(ScriptedEstimator.register { call =>
      if (call.regParam == 0.2) ScriptedEstimator.blockingJob(call, searchBlocked, new CountDownLatch(1))
    })
    val cv = new BayesianCrossValidator().setEstimator(est)
      .setEstimatorParamMaps(new ParamGridBuilder().addGrid(est.regParam, Array(0.1, 0.2, 0.3)).build())
      .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(2).setParallelism(2).setSeed(5)
    try {
      other.start()
      assert(SchedulerSuite.otherRunning.await(2, TimeUnit.MINUTES))
      val canceller = new Thread(() => if (searchBlocked.await(2, TimeUnit.MINUTES)) cv.cancel())
      canceller.start()
      intercept[SearchException](cv.fit(data))
      canceller.join()
    } finally SchedulerSuite.otherRelease.countDown()
    other.join()
    assert(otherResult == Right(10L))
    assert(TestSpark.eventually(workers.isEmpty))
  }

  test("timeout ends the search normally with the best finished trial") {
    // Trial 1 runs; trial 2's fits block until the timeout interrupts them, so the timeout (not
    // the machine's speed) decides what finished: exactly trial 1. Parallelism 1: one at a time.
    val released = new java.util.concurrent.CountDownLatch(1)
    val est = new ScriptedEstimator().setMaxIter(1).setScript(ScriptedEstimator.register { call =>
      if (call.regParam == 0.2 && !call.isRefit) released.await()
    })
    val grid = new ParamGridBuilder().addGrid(est.regParam, Array(0.1, 0.2, 0.3)).build()
    try {
      val model = new BayesianCrossValidator().setEstimator(est).setEstimatorParamMaps(grid)
        .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(2).setSeed(5)
        .setTimeout(8.0).fit(data)
      assert(model.stopReason == "timeout (8.0 s) reached")
      assert(model.trialResults.map(t => (t.settings.head._2, t.status)) == Seq((0.1, "ok"), (0.2, "cancelled")))
      assert(model.bestTrialId == 0 && !model.avgMetrics(0).isNaN && model.avgMetrics(1).isNaN)
      assert(TestSpark.eventually(sc.statusTracker.getActiveJobIds().isEmpty))
    } finally released.countDown()
  }

  test("earlyStopRounds stops after that many trials without improvement") {
    // Five equal settings: after the first, none improves.
    val model = counting(1, Seq.fill(5)(0.1)).setNumFolds(2).setEarlyStopRounds(2).fit(data)
    assert(model.trialResults.map(_.status) == Seq("ok", "ok", "ok"))
    assert(model.stopReason == "no improvement of more than 0.0 (relative) in 2 trials")
  }

  test("targetMetric stops as soon as the best metric reaches it") {
    val model = counting(1, Seq(0.0, 0.1, 0.2, 0.3)).setNumFolds(2).setTargetMetric(0.5).fit(data)
    assert(model.trialResults.length == 1 && model.avgMetrics.head >= 0.5)
    assert(model.stopReason == "targetMetric (0.5) reached")
    val unreachable = counting(1, Seq(0.0, 0.1)).setNumFolds(2).setTargetMetric(1.5).fit(data)
    assert(unreachable.trialResults.length == 2 && unreachable.stopReason == "maxEvals (2) reached")
  }

  test("a trial whose fit throws is recorded as failed and the search goes on") {
    val model = counting(2, Seq(0.0, 0.1, 0.2), failAt = 0.1).setNumFolds(2).fit(data)
    val trials = model.trialResults
    assert(trials.map(_.status) == Seq("ok", "failed", "ok"))
    assert(trials(1).error.get.contains("planned failure at 0.1"))
    assert(model.avgMetrics(1).isNaN && !model.avgMetrics(0).isNaN && !model.avgMetrics(2).isNaN)
    assert(model.stdMetrics(1).isNaN)
    val table = model.trials.orderBy("trialId").collect()
    assert(table(1).getAs[String]("status") == "failed")
    assert(table(1).getAs[String]("error").contains("planned failure"))
  }

  test("a setting the estimator cannot fit fails its trial with Spark's own error") {
    val lr = new LogisticRegression().setMaxIter(3)
    val grid = new ParamGridBuilder().addGrid(lr.family, Array("binomial", "multinomial")).build()
    val model = new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(2).fit(TestSpark.threeClasses)
    assert(model.trialResults.map(_.status) == Seq("failed", "ok"))
    assert(model.trialResults.head.error.get.contains("Binomial family only supports 1 or 2 outcome classes"))
  }

  test("when every trial fails, fit says so with the first cause and keeps the trials") {
    val error = intercept[SearchException] {
      counting(2, Seq(0.3), failAt = 0.3).fit(data)
    }
    assert(error.getMessage.contains("no trial succeeded"))
    assert(error.getMessage.contains("planned failure at 0.3"))
    assert(error.trials.map(_.status) == Seq("failed"))
  }

  test("cancel() from another thread stops the search and leaves no job running") {
    // Cancel once trial 4's first fold starts: with 2 threads, 5 of the 6 earlier folds have
    // ended by then, so at least two whole trials have finished.
    val trial4 = new java.util.concurrent.CountDownLatch(1)
    val est = new ScriptedEstimator().setMaxIter(1).setScript(ScriptedEstimator.register { call =>
      if (call.regParam == 0.04) trial4.countDown()
    })
    val cv = new BayesianCrossValidator().setEstimator(est)
      .setEstimatorParamMaps(new ParamGridBuilder().addGrid(est.regParam, (1 to 60).map(_ / 100.0).toArray).build())
      .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(2).setParallelism(2).setSeed(5)
    val canceller = new Thread(() => { trial4.await(); cv.cancel() })
    canceller.start()
    val error = intercept[SearchException](cv.fit(data))
    assert(error.getMessage == "the search was cancelled: cancel() was called")
    assert(error.trials.length < 60)
    assert(error.finishedTrials.nonEmpty)
    assert(error.trials.forall(t => Set("ok", "cancelled")(t.status)))
    assert(TestSpark.eventually(sc.statusTracker.getActiveJobIds().isEmpty))
  }

  /** Runs the scheduler alone on synthetic fold metrics (larger is better), one fit at a time. */
  private def scheduleSynthetic(metrics: Seq[Seq[Double]], pruneAfter: Option[Int]) = {
    val est = new CountingEstimator()
    val grid = metrics.indices.map(i => ParamMap(est.regParam -> i.toDouble)).toArray
    val calls = scala.collection.mutable.ArrayBuffer.empty[(Int, Int)]
    val scheduler = new TrialScheduler(3, grid.length, 1, largerIsBetter = true,
      new GridProposer(grid, grid.indices),
      runFold = task => {
        calls.synchronized(calls += ((task.trialId, task.fold)))
        FoldResult(metrics(task.trialId)(task.fold), None)
      },
      onJobsToCancel = () => (), log = _ => (), pruning = pruneAfter.map(new MedianPruning(_, largerIsBetter = true)))
    (scheduler.run(), calls.toList)
  }

  test("median pruning abandons a trial worse than the median on the same folds, and no other") {
    val metrics = (0 until 5).map(i => Seq.fill(3)(0.80 + 0.01 * i)) ++ Seq(
      Seq(0.70, 0.90, 0.90), // fold 0 below the median of fold 0 (0.82): pruned after 1 fold
      Seq(0.83, 0.50, 0.99), // fold 0 fine; folds 0-1 mean 0.665 < 0.82: pruned after 2 folds
      Seq(0.821, 0.821, 0.5)) // never below the median before its last fold: finished, ok
    val (plain, plainCalls) = scheduleSynthetic(metrics, None)
    assert(plain.trials.forall(_.isOk) && plainCalls.length == 24)

    val (pruned, calls) = scheduleSynthetic(metrics, Some(5))
    assert(pruned.trials.map(_.status) == Seq.fill(5)("ok") ++ Seq("pruned", "pruned", "ok"))
    assert(calls.length == 21)
    assert(!calls.contains((5, 1)) && !calls.contains((5, 2)) && !calls.contains((6, 2)))
    val five = pruned.trials(5)
    assert(five.foldMetrics(0) == 0.70 && five.foldMetrics.drop(1).forall(_.isNaN))
    assert(five.metric == 0.70 && five.stdMetric == 0.0)
    assert(math.abs(pruned.trials(6).metric - 0.665) < 1e-12)
    assert(pruned.trials(7).metric == plain.trials(7).metric)

    // Too few finished trials: the rule waits.
    val (waiting, waitingCalls) = scheduleSynthetic(metrics, Some(6))
    assert(waiting.trials(5).status == "ok" && waitingCalls.length > 21)
  }

  test("a pruned trial is never the best one, and the model's table shows it") {
    // maxIter 0 leaves the coefficients at zero: AUC 0.5 on every fold, far below the others.
    val lr = new LogisticRegression()
    // A repeat of the first setting ties with the median on every fold: not worse, so it runs.
    val grid = new ParamGridBuilder().addGrid(lr.maxIter, Array(3, 0, 3)).build()
    val model = new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(new BinaryClassificationEvaluator()).setNumFolds(2).setSeed(5)
      .setPruning("median").setPruningMinTrials(1).fit(data)
    assert(model.trialResults.map(_.status) == Seq("ok", "pruned", "ok"))
    assert(model.trialResults(1).foldMetrics.count(!_.isNaN) == 1)
    assert(model.trialResults(1).metric == 0.5 && model.avgMetrics(1).isNaN) // avgMetrics: complete trials only
    assert(model.avgMetrics(2) == model.avgMetrics(0))
    val table = model.trials.orderBy("trialId").collect()
    assert(table(1).getAs[String]("status") == "pruned")
    assert(model.bestModel.asInstanceOf[org.apache.spark.ml.classification.LogisticRegressionModel].getMaxIter != 0)
  }
}

object SchedulerSuite {
  // Latches that the other job's task reaches statically: a task's closure is serialized, a latch must not be.
  @volatile var otherRunning = new CountDownLatch(0)
  @volatile var otherRelease = new CountDownLatch(0)
}
