package sparktpe

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.ml.classification.LogisticRegression
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator
import org.apache.spark.ml.param.Params
import org.apache.spark.ml.regression.LinearRegression
import org.apache.spark.ml.tuning.ParamGridBuilder
import org.json4s._
import org.json4s.jackson.JsonMethods.parse
import org.scalatest.funsuite.AnyFunSuite

/**
 * Random search and external (JSON) proposers. Where the estimator is not what a test is about, it
 * is a linear regression solved by the normal equations (one Spark job a fit, where a logistic
 * regression takes one an iteration) scored by R^2 (larger is better, one job).
 */
class SearchSuite extends AnyFunSuite {
  private val data = TestSpark.binary

  /** A least-squares fit of the 0/1 label; regParam, elasticNetParam, maxIter and fitIntercept apply. */

  private def randomSearch(lr: LinearRegression, seed: Long) = {
    val space = SearchSpace()
      .logUniform(lr.regParam, 1e-4, 1.0)
      .uniform(lr.elasticNetParam, 0.0, 1.0)
      .intRange(lr.maxIter, 2, 10)
      .choice(lr.fitIntercept, Seq(true, false))
    new BayesianCrossValidator().setEstimator(lr).setEvaluator(TestSpark.r2())
      .setSearchSpace(space).setSearchAlgorithm("random").setMaxEvals(5).setSeed(seed)
      .setNumFolds(2).setParallelism(2).fit(data)
  }

  test("random search with a fixed seed repeats; another seed proposes other settings") {
    val lr = TestSpark.linear()
    val a = randomSearch(lr, 7)
    val b = randomSearch(lr, 7)
    val c = randomSearch(lr, 8)
    def settings(m: BayesianCrossValidatorModel) =
      m.trialResults.map(_.settings.map { case (p, v) => p.name -> v }.toMap)
    assert(settings(a) == settings(b))
    a.avgMetrics.zip(b.avgMetrics).foreach { case (x, y) => assert(math.abs(x - y) < 1e-12) }
    assert(settings(a) != settings(c))
    settings(a).foreach { s =>
      val reg = s("regParam").asInstanceOf[Double]
      assert(reg >= 1e-4 && reg <= 1.0)
      val iters = s("maxIter").asInstanceOf[Int]
      assert(iters >= 2 && iters <= 10)
    }
    assert(settings(a).map(_("regParam")).distinct.length == 5)
  }

  test("random search over a grid evaluates distinct grid points in a seeded order") {
    val lr = TestSpark.linear()
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.0, 0.01, 0.1, 1.0))
      .addGrid(lr.elasticNetParam, Array(0.0, 1.0)).build()
    def run(seed: Long) = new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(TestSpark.r2()).setSearchAlgorithm("random")
      .setMaxEvals(5).setSeed(seed).setNumFolds(2).fit(data).getEstimatorParamMaps.toSeq.map(_.toSeq.toSet)
    val first = run(1)
    assert(first.distinct.length == 5)
    assert(first.forall(grid.map(_.toSeq.toSet).contains))
    assert(first == run(1))
    assert(first != grid.take(5).toSeq.map(_.toSeq.toSet))
  }

  /** Proposes the given regParam values in turn, recording every request. */
  private class ScriptedProposer(lr: Params, values: Seq[Any]) extends TrialProposer {
    val requests = ArrayBuffer.empty[String]
    def propose(requestJson: String): String = {
      requests += requestJson
      val i = requests.length - 1
      if (i >= values.length) """{"exhausted": true}"""
      else values(i) match {
        case v: Double => s"""{"params": [{"parent": "${lr.uid}", "name": "regParam", "value": $v}], "vals": {"i": $i}}"""
        case raw: String => raw
        case null => null
      }
    }
    def example(): String = """{"params": []}"""
  }

  test("an external proposer drives the search and hears each finished trial's loss") {
    val lr = TestSpark.linear()
    val proposer = new ScriptedProposer(lr, Seq(0.001, 0.5, 0.05))
    val model = new BayesianCrossValidator().setEstimator(lr)
      .setEvaluator(TestSpark.r2()).setSearchAlgorithm("tpe").setMaxEvals(10)
      .setTrialProposer(proposer).setSeed(1).fit(data)
    assert(model.avgMetrics.length == 3)
    assert(model.stopReason.contains("no more settings"))
    assert(model.getEstimatorParamMaps.map(_.get(lr.regParam).get).toSeq == Seq(0.001, 0.5, 0.05))
    // parallelism 1: each trial finishes before the next request, which reports it
    implicit val formats: Formats = DefaultFormats
    val second = parse(proposer.requests(1))
    assert((second \ "trialId").extract[Int] == 1)
    val reported = (second \ "finished")(0)
    assert((reported \ "trialId").extract[Int] == 0)
    assert((reported \ "status").extract[String] == "ok")
    // R^2 is larger-is-better, so the loss is the negated metric
    assert(math.abs((reported \ "loss").extract[Double] + model.avgMetrics(0)) < 1e-12)
    assert((reported \ "vals" \ "i").extract[Int] == 0)
  }

  for ((response, message) <- Seq((null, "returned null"), ("not json {", "malformed JSON"),
                                  ("""{"params": 3}""", "no \"params\" array"))) {
    test(s"a proposer response that is ${Option(response).getOrElse("null")} ends the fit; finished trials are kept") {
      val lr = new LogisticRegression().setMaxIter(5)
      val proposer = new ScriptedProposer(lr, Seq(0.01, response))
      val error = intercept[SearchException] {
        new BayesianCrossValidator().setEstimator(lr).setEvaluator(new BinaryClassificationEvaluator())
          .setSearchAlgorithm("tpe").setMaxEvals(4).setTrialProposer(proposer).fit(data)
      }
      assert(error.getMessage.contains(message))
      assert(error.finishedTrials.map(_.trialId) == Seq(0))
      assert(error.finishedTrials.head.metric > 0.5)
    }
  }

  test("a search continued from a model's trials goes on where it stopped (random and grid)") {
    val lr = TestSpark.linear()
    val space = SearchSpace().logUniform(lr.regParam, 1e-4, 1.0)
    def random(maxEvals: Int) = new BayesianCrossValidator().setEstimator(lr)
      .setEvaluator(TestSpark.r2()).setSearchSpace(space)
      .setSearchAlgorithm("random").setMaxEvals(maxEvals).setSeed(3).setNumFolds(2)
    def regs(m: BayesianCrossValidatorModel) = m.getEstimatorParamMaps.toSeq.map(_(lr.regParam))
    val whole = random(5).fit(data)
    val first = random(3).fit(data)
    val continued = random(2).setInitialTrials(first).fit(data)
    assert(regs(continued) == regs(whole))
    continued.avgMetrics.zip(whole.avgMetrics).foreach { case (a, b) => assert(math.abs(a - b) < 1e-12) }
    assert(continued.trialResults.map(_.trialId) == (0 until 5))

    // Grid: the settings already evaluated are skipped, whatever their order.
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.0, 0.01, 0.1, 1.0)).build()
    def gridCv(maps: Array[org.apache.spark.ml.param.ParamMap]) = new BayesianCrossValidator()
      .setEstimator(lr).setEvaluator(TestSpark.r2()).setEstimatorParamMaps(maps)
      .setNumFolds(2)
    val part = gridCv(Array(grid(2), grid(0))).fit(data)
    val rest = gridCv(grid).setInitialTrials(part.trialsJson).fit(data)
    assert(regs(rest) == Seq(0.1, 0.0, 0.01, 1.0))
    val full = gridCv(grid).fit(data)
    assert(math.abs(rest.avgMetrics(3) - full.avgMetrics(3)) < 1e-12)
    def bestReg(m: BayesianCrossValidatorModel) = regs(m)(m.avgMetrics.indexOf(m.avgMetrics.max))
    assert(bestReg(rest) == bestReg(full))
  }

  test("initialTrials scored on another number of folds are refused before any job") {
    val lr = TestSpark.linear()
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.0, 0.1)).build()
    val twoFolds = new BayesianCrossValidator().setEstimator(lr).setNumFolds(2)
      .setEvaluator(TestSpark.r2()).setEstimatorParamMaps(grid).fit(data)
    val error = intercept[IllegalArgumentException] {
      new BayesianCrossValidator().setEstimator(lr).setEvaluator(TestSpark.r2())
        .setEstimatorParamMaps(grid).setInitialTrials(twoFolds).fit(data)
    }
    assert(error.getMessage.contains("initialTrials = trial 0 scored on 2 folds is not allowed: " +
      "trials scored on 3 fold(s)"))
  }
}
