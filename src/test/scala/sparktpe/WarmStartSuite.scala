package sparktpe

import java.util.concurrent.{CountDownLatch, TimeUnit}
import java.util.concurrent.atomic.AtomicInteger

import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.tuning.ParamGridBuilder
import org.scalatest.funsuite.AnyFunSuite

/** Continuing a search with `initialTrials`: nothing carried over runs again, cut trials do. */
class WarmStartSuite extends AnyFunSuite {
  private val data = TestSpark.binary

  private def bits(xs: Array[Double]) = xs.toSeq.map(java.lang.Double.doubleToRawLongBits)

  test("a continued search fits only its new trials' folds and the refit; earlier trials stay bit for bit") {
    // What is carried over does not depend on the fit or its score: a one-iteration logistic
    // regression, 2 folds, scored by MulticlassClassificationEvaluator (1 Spark job, not 4).
    val est = new CountingEstimator().setMaxIter(1)
    def cv(regs: Double*) = new BayesianCrossValidator().setEstimator(est)
      .setEstimatorParamMaps(new ParamGridBuilder().addGrid(est.regParam, regs.toArray).build())
      .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(2).setParallelism(2).setSeed(5)
    val first = cv(0.0, 0.1).fit(data)
    CountingEstimator.reset()
    val continued = cv(0.0, 0.1, 0.2, 0.3).setInitialTrials(first).fit(data)
    assert(CountingEstimator.fits.get == 2 * 2 + 1) // two new trials of 2 folds, and the refit
    val (earlier, added) = continued.trialResults.splitAt(2)
    assert(continued.trialResults.map(_.trialId) == (0 until 4))
    assert(added.map(_.settings.head._2) == Seq(0.2, 0.3) && added.forall(_.isOk))
    earlier.zip(first.trialResults).foreach { case (now, before) =>
      assert(now.settings == before.settings && now.status == before.status)
      assert(bits(now.foldMetrics) == bits(before.foldMetrics))
      assert(bits(now.foldStartTimes) == bits(before.foldStartTimes))
      assert(bits(now.foldEndTimes) == bits(before.foldEndTimes))
      assert(java.lang.Double.doubleToRawLongBits(now.metric) == java.lang.Double.doubleToRawLongBits(before.metric))
      assert(now.fitSeconds == before.fitSeconds)
    }
  }

  test("resuming retries the settings of cancelled trials first, as the first of maxEvals new trials") {
    // A first search interrupted in trial 2 (regParam 0.2): trial 1 ok, trial 2 cancelled.
    val entered = new CountDownLatch(1)
    val blockAt = new java.util.concurrent.atomic.AtomicReference[java.lang.Double](0.2)
    val fits = new AtomicInteger()
    val est = new ScriptedEstimator().setMaxIter(1).setScript(ScriptedEstimator.register { call =>
      fits.incrementAndGet()
      if (blockAt.get == call.regParam) { entered.countDown(); new CountDownLatch(1).await(2, TimeUnit.MINUTES) }
    })
    val grid = new ParamGridBuilder().addGrid(est.regParam, Array(0.1, 0.2, 0.3)).build()
    def cv() = new BayesianCrossValidator().setEstimator(est).setEstimatorParamMaps(grid)
      .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(2).setSeed(5)
    val tuner = cv()
    new Thread(() => { entered.await(); tuner.cancel() }).start()
    val cut = intercept[SearchException](tuner.fit(data))
    assert(cut.trials.map(t => (t.settings.head._2, t.status)) == Seq((0.1, "ok"), (0.2, "cancelled")))

    blockAt.set(null)
    val whole = cv().fit(data)
    // maxEvals 1: the one new trial is the cancelled setting again, not the grid's next one.
    fits.set(0)
    val one = cv().setMaxEvals(1).setInitialTrials(cut.trialsJson).fit(data)
    assert(one.trialResults.map(t => (t.settings.head._2, t.status)) == Seq((0.1, "ok"), (0.2, "ok")))
    assert(fits.get == 2 + 1) // the retried trial's 2 folds and the refit
    // Spark's evaluation may merge partial sums in another order: equal to the last few ulps.
    def close(a: Seq[Double], b: Seq[Double]) = a.size == b.size && a.zip(b).forall { case (x, y) => math.abs(x - y) <= 1e-12 }
    assert(close(one.avgMetrics.toSeq, whole.avgMetrics.take(2).toSeq), (one.avgMetrics.toSeq, whole.avgMetrics.toSeq))
    assert(one.stopReason == "maxEvals (2) reached")
    // The whole grid: the retried setting, then the settings never tried; none twice.
    val rest = cv().setInitialTrials(cut.trialsJson).fit(data)
    assert(rest.trialResults.map(t => (t.trialId, t.settings.head._2, t.status)) ==
      Seq((0, 0.1, "ok"), (1, 0.2, "ok"), (2, 0.3, "ok")))
    assert(close(rest.avgMetrics.toSeq, whole.avgMetrics.toSeq), (rest.avgMetrics.toSeq, whole.avgMetrics.toSeq))
  }

  test("an external proposer hears a retried trial with its settings, as one it did not propose") {
    val lr = new org.apache.spark.ml.classification.LogisticRegression().setMaxIter(2)
    val requests = scala.collection.mutable.ArrayBuffer.empty[String]
    val proposer = new TrialProposer {
      def propose(requestJson: String): String = {
        requests.synchronized(requests += requestJson)
        s"""{"params": [{"parent": "${lr.uid}", "name": "regParam", "value": 0.05}], "vals": {"new": 1}}"""
      }
      def example(): String = """{"params": []}"""
    }
    val reg = lr.regParam.asInstanceOf[org.apache.spark.ml.param.Param[Any]]
    val initial = Seq(
      TrialResult(0, Seq((reg, 0.3: Any)), """{"old": 0}""", Array(0.7, 0.8), 0.75, 0.05, "ok", None, 1.0),
      TrialResult(1, Seq((reg, 0.01: Any)), """{"old": 1}""", Array(0.9, Double.NaN), Double.NaN, Double.NaN,
        "cancelled", Some("not finished"), 1.0))
    import org.json4s.jackson.JsonMethods.{compact, render}
    val model = new BayesianCrossValidator().setEstimator(lr).setEvaluator(new MulticlassClassificationEvaluator())
      .setNumFolds(2).setSearchAlgorithm("tpe").setTrialProposer(proposer).setMaxEvals(2)
      .setInitialTrials(compact(render(TunerPersistence.trialsJson(initial)))).fit(data)
    assert(model.trialResults.map(t => (t.settings.head._2, t.status)) == Seq((0.3, "ok"), (0.01, "ok"), (0.05, "ok")))
    assert(model.trialResults(0).foldMetrics.toSeq == Seq(0.7, 0.8)) // carried over, not refitted
    assert(requests.length == 1)
    val finished = (org.json4s.jackson.JsonMethods.parse(requests.head) \ "finished").children
    implicit val formats: org.json4s.Formats = org.json4s.DefaultFormats
    assert(finished.map(f => ((f \ "trialId").extract[Int], (f \ "vals").extract[Map[String, Int]])) ==
      Seq((0, Map("old" -> 0)), (1, Map("old" -> 1))))
    assert(finished.forall(f => (f \ "params").children.nonEmpty))
    assert((org.json4s.jackson.JsonMethods.parse(requests.head) \ "trialId").extract[Int] == 2)
  }
}
