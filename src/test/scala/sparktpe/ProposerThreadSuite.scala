package sparktpe

import java.util.concurrent.CountDownLatch

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.ml.classification.LogisticRegression
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator
import org.apache.spark.ml.param.{Param, ParamMap}
import org.scalatest.funsuite.AnyFunSuite

/** Which thread proposes, and the deadline on an external proposer's calls. */
class ProposerThreadSuite extends AnyFunSuite {
  private val data = TestSpark.binary

  test("grid and random proposals are made on the worker that asks, never on the proposer thread") {
    val lr = new LogisticRegression()
    val threads = ArrayBuffer.empty[String]
    def recording(inner: Proposer): Proposer = (id: Int, finished: Seq[TrialOutcome]) => {
      threads.synchronized(threads += Thread.currentThread().getName)
      inner.next(id, finished)
    }
    val grid = Array(0.0, 0.1, 0.2).map(r => ParamMap(lr.regParam -> r))
    val space = SearchSpace().uniform(lr.regParam, 0.0, 1.0)
    for (proposer <- Seq(new GridProposer(grid, grid.indices), new RandomProposer(space, 3L))) {
      threads.clear()
      val outcome = new TrialScheduler(2, 3, 2, largerIsBetter = true, recording(proposer),
        runFold = task => FoldResult(task.trialId.toDouble, None), onJobsToCancel = () => (), log = _ => ()).run()
      assert(outcome.trials.map(_.status) == Seq("ok", "ok", "ok"))
      assert(threads.nonEmpty && threads.forall(_.startsWith("sparktpe-worker")), threads)
    }
  }

  /** Proposes regParam 0.01 for trial 0; for later trials waits on `answer` first. */
  private class SlowProposer(lr: LogisticRegression, answer: CountDownLatch) extends TrialProposer {
    val threads = ArrayBuffer.empty[String]
    def propose(requestJson: String): String = {
      threads.synchronized(threads += Thread.currentThread().getName)
      if (!requestJson.startsWith("{\"trialId\":0,")) answer.await()
      s"""{"params": [{"parent": "${lr.uid}", "name": "regParam", "value": 0.01}], "vals": {}}"""
    }
    def example(): String = """{"params": []}"""
  }

  private def tpe(lr: LogisticRegression, proposer: TrialProposer) = new BayesianCrossValidator()
    .setEstimator(lr).setEvaluator(new BinaryClassificationEvaluator()).setNumFolds(2)
    .setSearchAlgorithm("tpe").setTrialProposer(proposer).setMaxEvals(2)

  test("an external proposer that does not answer fails the search after proposerTimeout, keeping the trials") {
    val lr = new LogisticRegression().setMaxIter(5)
    val never = new CountDownLatch(1)
    val hanging = new SlowProposer(lr, never)
    try {
      val error = intercept[SearchException](tpe(lr, hanging).setProposerTimeout(1.0).fit(data))
      assert(error.getMessage == "the search stopped because the proposer failed: the proposer (asked for " +
        "trialId 1) did not answer within 1.0 s (set a longer deadline with setProposerTimeout)")
      assert(error.getCause.isInstanceOf[ProposerTimeoutException])
      assert(error.trials.map(_.status) == Seq("ok") && error.trials.head.metric > 0.5)
      assert(hanging.threads.forall(_.startsWith("sparktpe-proposer")), hanging.threads)
      // The stuck call still holds its thread: the next search gets a fresh one and finishes.
      val answering = new SlowProposer(lr, new CountDownLatch(0))
      val model = tpe(lr, answering).fit(data)
      assert(model.trialResults.map(_.status) == Seq("ok", "ok"))
      assert(answering.threads.forall(t => t.startsWith("sparktpe-proposer") && !hanging.threads.contains(t)))
      // A bare ProposerThread.call (as the schema check's example() uses) keeps working too.
      assert(ProposerThread.call(41 + 1) == 42)
    } finally never.countDown()
  }

  test("proposerTimeout must be a positive number of seconds, is 600 s by default, and is copied") {
    val cv = new BayesianCrossValidator()
    assert(cv.getProposerTimeout == 600.0)
    for (bad <- Seq(0.0, -1.0, Double.NaN, Double.PositiveInfinity)) {
      val e = intercept[IllegalArgumentException](cv.setProposerTimeout(bad))
      assert(e.getMessage == s"proposerTimeout = $bad is not allowed: must be a finite number of seconds > 0")
    }
    assert(cv.setProposerTimeout(5.0).copy(ParamMap.empty).getProposerTimeout == 5.0)
    assert(new BayesianTrainValidationSplit().setProposerTimeout(7.0).copy(ParamMap.empty).getProposerTimeout == 7.0)
  }
}
