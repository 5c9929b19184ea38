package sparktpe

import org.apache.spark.ml.Pipeline
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.feature.VectorAssembler
import org.apache.spark.ml.regression.{LinearRegression, LinearRegressionModel}
import org.apache.spark.ml.tuning.{CrossValidator, ParamGridBuilder, TrainValidationSplit}
import org.scalatest.funsuite.AnyFunSuite

/**
 * Grid mode must reproduce Spark's Scala CrossValidator, run here on the same inputs. The
 * estimator is a linear regression solved by the normal equations (one Spark job a fit, where a
 * logistic regression takes one an iteration), scored by R^2 (larger is better, one job).
 */
class GridSearchSuite extends AnyFunSuite {
  private val data = TestSpark.binary

  /** A least-squares fit of the 0/1 label: one aggregation job, regParam and elasticNetParam apply. */

  private def setup() = {
    val lr = TestSpark.linear()
    val grid = new ParamGridBuilder()
      .addGrid(lr.regParam, Array(0.001, 0.3))
      .addGrid(lr.elasticNetParam, Array(0.0, 0.8))
      .build()
    (lr, grid, TestSpark.r2())
  }

  private def spark(lr: LinearRegression, grid: Array[org.apache.spark.ml.param.ParamMap],
                    foldCol: String = "") =
    new CrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(TestSpark.r2()).setNumFolds(3).setSeed(42)
      .setFoldCol(foldCol).setParallelism(2).fit(data) // Spark's parallelism: same metrics, less waiting

  private def ours(lr: LinearRegression, grid: Array[org.apache.spark.ml.param.ParamMap],
                   parallelism: Int, foldCol: String = "") =
    new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(TestSpark.r2()).setNumFolds(3).setSeed(42)
      .setFoldCol(foldCol).setParallelism(parallelism).fit(data)

  // The fits several tests compare, each run once for the suite.
  private val (lr, grid, _) = setup()
  private lazy val sparkCv = spark(lr, grid)
  private lazy val oursAt = Map(1 -> ours(lr, grid, 1), 3 -> ours(lr, grid, 3))

  test("grid mode equals CrossValidator's avgMetrics and best model at parallelism 1 and 3") {
    for ((parallelism, got) <- oursAt) withClue(s"parallelism $parallelism: ") {
      assert(got.avgMetrics.length == grid.length)
      got.avgMetrics.zip(sparkCv.avgMetrics).foreach { case (a, b) => assert(math.abs(a - b) < 1e-9) }
      val best = got.bestModel.asInstanceOf[LinearRegressionModel]
      val theirs = sparkCv.bestModel.asInstanceOf[LinearRegressionModel]
      assert(best.getRegParam == theirs.getRegParam && best.getElasticNetParam == theirs.getElasticNetParam)
      assert(best.coefficients.toArray.zip(theirs.coefficients.toArray).forall { case (a, b) => math.abs(a - b) < 1e-9 })
      assert(got.getEstimatorParamMaps.toSeq.map(_.toSeq.toSet) == grid.toSeq.map(_.toSeq.toSet))
      assert(got.avgMetrics.distinct.length > 1) // the grid really changes the metric
    }
  }

  test("BayesianTrainValidationSplit grid mode equals TrainValidationSplit at parallelism 1 and 3") {
    val expected = new TrainValidationSplit().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(TestSpark.r2()).setTrainRatio(0.7).setSeed(9).setParallelism(2).fit(data)
    for (parallelism <- Seq(1, 3)) withClue(s"parallelism $parallelism: ") {
      val got = new BayesianTrainValidationSplit().setEstimator(lr).setEstimatorParamMaps(grid)
        .setEvaluator(TestSpark.r2()).setTrainRatio(0.7).setSeed(9)
        .setParallelism(parallelism).setCollectSubModels(true).fit(data)
      assert(got.validationMetrics.length == grid.length)
      got.validationMetrics.zip(expected.validationMetrics).foreach { case (a, b) => assert(math.abs(a - b) < 1e-9) }
      assert(got.validationMetrics.distinct.length > 1)
      assert(got.bestModel.asInstanceOf[LinearRegressionModel].getRegParam ==
        expected.bestModel.asInstanceOf[LinearRegressionModel].getRegParam)
      assert(got.subModels.length == grid.length && got.subModels.forall(_ != null))
      assert(got.trials.count() == grid.length)
      assert(got.getTrainRatio == 0.7)
    }
  }

  test("grid mode with foldCol equals CrossValidator with the same foldCol") {
    val expected = spark(lr, grid, "fold")
    val got = ours(lr, grid, 2, "fold")
    got.avgMetrics.zip(expected.avgMetrics).foreach { case (a, b) => assert(math.abs(a - b) < 1e-9) }
    // and the random folds really differ from the column's folds
    assert(oursAt(1).avgMetrics.zip(got.avgMetrics).exists { case (a, b) => math.abs(a - b) > 1e-9 })
  }

  test("parallelism 1 and 3 give equal metrics and standard deviations") {
    val one = oursAt(1)
    val three = oursAt(3)
    // equal up to rounding: Spark may sum partitions in another order between runs
    one.avgMetrics.zip(three.avgMetrics).foreach { case (a, b) => assert(math.abs(a - b) < 1e-12) }
    one.stdMetrics.zip(three.stdMetrics).foreach { case (a, b) => assert(math.abs(a - b) < 1e-12) }
    assert(one.stdMetrics.forall(s => s > 0 && s < 0.2))
  }

  test("the trials DataFrame has one row per trial with the tuned Params and the metrics") {
    val before = System.currentTimeMillis() / 1e3
    val model = ours(lr, grid, 2)
    val after = System.currentTimeMillis() / 1e3
    val table = model.trials.orderBy("trialId").collect()
    assert(model.trials.columns.toSeq == Seq("trialId", "elasticNetParam", "regParam", "foldMetrics",
      "metric", "stdMetric", "status", "error", "fitSeconds", "foldStartTimes", "foldEndTimes"))
    // Fold timestamps: every fold ran inside the fit, and never more than parallelism (2) at once.
    val intervals = table.toSeq.flatMap { row =>
      row.getAs[collection.Seq[Double]]("foldStartTimes").zip(row.getAs[collection.Seq[Double]]("foldEndTimes"))
    }
    assert(intervals.size == 3 * grid.length)
    intervals.foreach { case (s, e) => assert(before <= s && s < e && e <= after, (before, s, e, after)) }
    val events = intervals.flatMap { case (s, e) => Seq((s, 1), (e, -1)) }.sortBy(ev => (ev._1, ev._2))
    val inFlight = events.scanLeft(0)(_ + _._2)
    assert(inFlight.max == 2 && inFlight.last == 0)
    assert(table.length == grid.length)
    assert(model.bestTrialId == model.avgMetrics.indexOf(model.avgMetrics.max))  // R^2: larger wins
    table.zipWithIndex.foreach { case (row, i) =>
      assert(row.getAs[Int]("trialId") == i)
      assert(row.getAs[Double]("regParam") == grid(i).get(lr.regParam).get)
      assert(row.getAs[Double]("metric") == model.avgMetrics(i))
      assert(row.getAs[Seq[Double]]("foldMetrics").sum / 3 == model.avgMetrics(i))
      assert(row.getAs[String]("status") == "ok")
      assert(row.getAs[Double]("fitSeconds") >= row.getAs[collection.Seq[Double]]("foldEndTimes").max -
        row.getAs[collection.Seq[Double]]("foldStartTimes").min)
    }
  }

  test("a Pipeline estimator is tuned through its stages' Params and its best model transforms") {
    val assembler = new VectorAssembler().setInputCols(Array("x1", "x2")).setOutputCol("features")
    val lr = TestSpark.linear()
    val pipeline = new Pipeline().setStages(Array(assembler, lr))
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.01, 1.0)).build()
    val input = data.drop("features")
    val model = new BayesianCrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid)
      .setEvaluator(TestSpark.r2()).setSeed(3).fit(input)
    val expected = new CrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid)
      .setEvaluator(TestSpark.r2()).setSeed(3).setParallelism(2).fit(input)
    model.avgMetrics.zip(expected.avgMetrics).foreach { case (a, b) => assert(math.abs(a - b) < 1e-9) }
    assert(model.transform(input).select("prediction").count() == input.count())
  }

  test("the tuners work as Pipeline stages, and copy keeps uids as Spark's tuners do") {
    val assembler = new VectorAssembler().setInputCols(Array("x1", "x2")).setOutputCol("features")
    val lr = TestSpark.linear().setMaxIter(10) // unused by the normal equations; here to be copied
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.01, 1.0)).build()
    val cv = new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(TestSpark.r2()).setNumFolds(2)
    val tvs = new BayesianTrainValidationSplit().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(TestSpark.r2())
    val input = data.drop("features")
    for (tuner <- Seq(cv, tvs)) {
      val model = new Pipeline().setStages(Array(assembler, tuner)).fit(input)
      assert(model.stages.last.uid == tuner.uid)
      assert(model.transform(input).count() == input.count())
      if (tuner eq cv) assert(model.stages.last.isInstanceOf[BayesianCrossValidatorModel])
    }
    val copied = cv.copy(ParamMap(cv.numFolds -> 4, lr.maxIter -> 3))
    assert(copied.uid == cv.uid && copied.getNumFolds == 4 && cv.getNumFolds == 2)
    assert(copied.getEstimator.uid == lr.uid && copied.getEstimator.getOrDefault(lr.maxIter) == 3)
    assert(lr.getMaxIter == 10)
    assert(cv.explainParams().contains("numFolds: number of folds for cross validation (>= 2) (default: 3, current: 2)"))
  }
}
