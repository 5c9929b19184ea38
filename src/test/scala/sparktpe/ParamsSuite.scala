package sparktpe

import org.apache.spark.ml.classification.LogisticRegression
import org.apache.spark.ml.evaluation.{BinaryClassificationEvaluator, RegressionEvaluator}
import org.apache.spark.ml.regression.LinearRegression
import org.apache.spark.ml.tuning.ParamGridBuilder
import org.scalatest.funsuite.AnyFunSuite

/** Bad Params fail with a message naming the Param, the value and what is allowed, before any job. */
class ParamsSuite extends AnyFunSuite {
  private val data = TestSpark.binary

  private def valid() = {
    val lr = new LogisticRegression()
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.1)).build()
    (lr, new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(new BinaryClassificationEvaluator()))
  }

  private val cases: Seq[(String, () => BayesianCrossValidator, Seq[String])] = Seq(
    ("numFolds 1", () => valid()._2.setNumFolds(1), Seq("numFolds = 1", "numFolds must be >= 2")),
    ("parallelism 0", () => valid()._2.setParallelism(0), Seq("parallelism = 0", ">= 1")),
    ("maxEvals 0", () => valid()._2.setMaxEvals(0), Seq("maxEvals = 0", ">= 1")),
    ("timeout 0", () => valid()._2.setTimeout(0), Seq("timeout = 0.0", "> 0 seconds")),
    ("earlyStopRounds 0", () => valid()._2.setEarlyStopRounds(0), Seq("earlyStopRounds = 0", ">= 1")),
    ("a negative earlyStopTolerance", () => valid()._2.setEarlyStopTolerance(-0.1),
      Seq("earlyStopTolerance = -0.1", ">= 0")),
    ("an unknown searchAlgorithm", () => valid()._2.setSearchAlgorithm("bogus"),
      Seq("searchAlgorithm = bogus", "one of grid, random, tpe")),
    ("no evaluator", () => { val (lr, _) = valid()
      new BayesianCrossValidator().setEstimator(lr) }, Seq("evaluator = unset", "an Evaluator must be set")),
    ("no estimator", () => new BayesianCrossValidator().setEvaluator(new BinaryClassificationEvaluator()),
      Seq("estimator = unset", "an Estimator must be set")),
    ("a grid Param of another estimator", () => {
      val other = new LogisticRegression()
      valid()._2.setEstimatorParamMaps(new ParamGridBuilder().addGrid(other.regParam, Array(0.1)).build())
    }, Seq(s"regParam belongs to no stage of the estimator")),
    ("an empty search space", () => valid()._2.setSearchSpace(SearchSpace()).setSearchAlgorithm("random"),
      Seq("searchSpace = empty", "at least one Param")),
    ("a space Param of another estimator", () => {
      val other = new LogisticRegression()
      valid()._2.setSearchSpace(SearchSpace().uniform(other.regParam, 0, 1)).setSearchAlgorithm("random")
    }, Seq("belongs to no stage")),
    ("tpe without a proposer", () => valid()._2.setSearchAlgorithm("tpe"),
      Seq("searchAlgorithm = tpe", "Python")),
    ("a foldCol that does not exist", () => valid()._2.setFoldCol("nope"),
      Seq("foldCol = nope", "no such column")),
    ("a grid without maxEvals in random mode and no grid", () => {
      val (lr, cv) = valid()
      cv.clear(cv.estimatorParamMaps).setSearchSpace(SearchSpace().uniform(lr.regParam, 0, 1))
        .setSearchAlgorithm("random")
    }, Seq("maxEvals is not set"))
  )

  private val sc = TestSpark.spark.sparkContext

  /** Runs a one-task job described as `description`: a mark in the listener's ordered record. */
  private def marker(description: String): Unit = {
    sc.setJobDescription(description)
    try sc.parallelize(Seq(1), 1).count() finally sc.setJobDescription(null)
  }

  for (((name, make, expected), i) <- cases.zipWithIndex) {
    test(s"$name fails before any Spark job with a clear message") {
      TestSpark.jobDescriptions // listener registered before the first mark
      // Jobs reach the listener in the order they start: no job ran between the marks if the
      // mark after comes right after the mark before.
      val (before, after) = (s"params case $i: before", s"params case $i: after")
      marker(before)
      val error = intercept[IllegalArgumentException](make().fit(data))
      expected.foreach(e => assert(error.getMessage.contains(e), error.getMessage))
      marker(after)
      assert(TestSpark.eventually(TestSpark.descriptions.contains(after)))
      val seen = TestSpark.descriptions
      assert(seen.slice(seen.lastIndexOf(before) + 1, seen.lastIndexOf(after)).isEmpty, "a Spark job ran")
      // (the status tracker too learns of a job's end from the listener bus, after the fact)
      assert(TestSpark.eventually(sc.statusTracker.getActiveJobIds().isEmpty))
    }
  }

  test("trainRatio outside [0, 1] fails before any job") {
    val (lr, cv) = valid()
    val tvs = new BayesianTrainValidationSplit().setEstimator(lr).setEstimatorParamMaps(cv.getEstimatorParamMaps)
      .setEvaluator(new BinaryClassificationEvaluator()).setTrainRatio(1.5)
    val error = intercept[IllegalArgumentException](tvs.fit(data))
    assert(error.getMessage.contains("trainRatio = 1.5 is not allowed: trainRatio must be in [0, 1]"))
  }

  test("a space Param that is not numeric cannot get a numeric range") {
    val lr = new LogisticRegression()
    val error = intercept[IllegalArgumentException](SearchSpace().uniform(lr.family, 0, 1))
    assert(error.getMessage.contains("family"))
  }

  // Any 64-bit seed, each tuner's default included, with each algorithm that runs without Python
  // (one trial each, to stay cheap: the seed feeds the folds or split, the draws and the schema check;
  // a linear regression by the normal equations fits in one Spark job, RegressionEvaluator scores in one).
  private val small = data.limit(60).cache()
  for (tuner <- Seq("BayesianCrossValidator", "BayesianTrainValidationSplit");
       algorithm <- Seq("grid", "random over a space", "random over a grid");
       seed <- Seq(None, Some(Long.MinValue), Some(Long.MaxValue))) {
    test(s"$tuner, $algorithm, seed ${seed.getOrElse("default")}: the search runs and repeats itself") {
      def run() = {
        val lr = new LinearRegression().setSolver("normal")
        val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.01, 0.3, 1.0)).build()
        val est: SearchEstimator with org.apache.spark.ml.Estimator[_] = tuner match {
          case "BayesianCrossValidator" => new BayesianCrossValidator().setNumFolds(2)
          case _ => new BayesianTrainValidationSplit()
        }
        est.set(est.estimator, lr).set(est.evaluator, new RegressionEvaluator()).set(est.maxEvals, 1)
        seed.foreach(s => est.set(est.seed, s))
        algorithm match {
          case "grid" => est.set(est.estimatorParamMaps, grid.take(1)) // a grid runs all of itself
          case "random over a space" => est.set(est.searchSpace, SearchSpace().logUniform(lr.regParam, 1e-3, 1.0))
              .set(est.searchAlgorithm, "random")
          case _ => est.set(est.estimatorParamMaps, grid).set(est.searchAlgorithm, "random")
        }
        assert(est.getSeed == seed.getOrElse(est.getClass.getName.hashCode.toLong))
        est.fit(small).asInstanceOf[SearchResults]
      }
      val first = run()
      assert(first.trialResults.map(_.status) == Seq("ok"))
      assert(first.trialResults.forall(t => !t.metric.isNaN))
      if (algorithm != "grid") { // the seed fixes the draws
        assert(first.trialResults.map(_.settings.map(_._2)) == run().trialResults.map(_.settings.map(_._2)))
      }
    }
  }
}
