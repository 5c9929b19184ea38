package sparktpe

import org.apache.spark.ml.{Estimator, Pipeline, PipelineStage}
import org.apache.spark.ml.classification.{LinearSVC, LogisticRegression, OneVsRest}
import org.apache.spark.ml.evaluation.{BinaryClassificationEvaluator, MulticlassClassificationEvaluator}
import org.apache.spark.ml.feature.{PCA, VectorAssembler}
import org.apache.spark.ml.param.{Param, ParamMap}
import org.apache.spark.ml.tuning.{CrossValidator, ParamGridBuilder}
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.functions.{col, lit, when}
import org.scalatest.funsuite.AnyFunSuite

/**
 * Cases of Spark's own tuners that a migrating user relies on, each run with Spark's Scala
 * `CrossValidator` and ours on the same input, folds and seed. Where the estimator is not what a
 * test is about, it is a linear regression solved by the normal equations (one Spark job a fit,
 * where a logistic regression takes one an iteration) scored by R^2 (one job).
 */
class MigrationSuite extends AnyFunSuite {
  private val binary = TestSpark.binary
  private val classes = TestSpark.threeClasses

  private def sparkCv(est: Estimator[_], grid: Array[ParamMap], data: DataFrame,
                      eval: org.apache.spark.ml.evaluation.Evaluator, foldCol: String = "", numFolds: Int = 3,
                      parallelism: Int = 2) =
    new CrossValidator().setEstimator(est).setEstimatorParamMaps(grid).setEvaluator(eval)
      .setNumFolds(numFolds).setSeed(11).setFoldCol(foldCol)
      .setParallelism(parallelism).fit(data) // as ours: the metrics do not depend on it, the waiting does

  private def ours(est: Estimator[_], grid: Array[ParamMap],
                   eval: org.apache.spark.ml.evaluation.Evaluator, foldCol: String = "", numFolds: Int = 3,
                   parallelism: Int = 2) =
    new BayesianCrossValidator().setEstimator(est).setEstimatorParamMaps(grid).setEvaluator(eval)
      .setNumFolds(numFolds).setSeed(11).setFoldCol(foldCol).setParallelism(parallelism)

  private def assertSameMetrics(a: Array[Double], b: Array[Double]): Unit = {
    assert(a.length == b.length)
    a.zip(b).foreach { case (x, y) => assert(math.abs(x - y) < 1e-9, (a.toSeq, b.toSeq)) }
  }

  /** A least-squares fit of the 0/1 label: one aggregation job. */

  private def classifierParam(ovr: OneVsRest): Param[Any] = ovr.classifier.asInstanceOf[Param[Any]]

  test("a grid over estimator-valued settings (ovr.classifier in lr, svc) equals CrossValidator") {
    val lr = new LogisticRegression().setMaxIter(2)
    val svc = new LinearSVC().setMaxIter(2) // as cheap to fit as lr, unlike a tree
    // No classifier set: Spark's OneVsRest.copy would put its own classifier over the grid's.
    // Its 3 one-class fits run at once (Spark's OneVsRest.parallelism): the same models, sooner.
    val ovr = new OneVsRest().setParallelism(3)
    val grid = new ParamGridBuilder().addGrid(classifierParam(ovr), Seq(lr, svc)).build()
    val eval = new MulticlassClassificationEvaluator()
    val expected = sparkCv(ovr, grid, classes, eval, numFolds = 2)
    val got = ours(ovr, grid, eval, numFolds = 2).fit(classes)
    assertSameMetrics(got.avgMetrics, expected.avgMetrics)
    assert(got.avgMetrics(0) != got.avgMetrics(1)) // the two classifiers really differ
    assert(got.getEstimatorParamMaps.map(_.get(classifierParam(ovr)).get.asInstanceOf[PipelineStage].uid).toSeq ==
      Seq(lr.uid, svc.uid))
  }

  test("a Param of the classifier inside OneVsRest is tuned as CrossValidator tunes it") {
    val lr = new LogisticRegression().setMaxIter(2)
    val ovr = new OneVsRest().setClassifier(lr).setParallelism(3)
    val grid = new ParamGridBuilder().addGrid(ovr.getClassifier.asInstanceOf[LogisticRegression].regParam, Array(0.0, 3.0)).build()
    val eval = new MulticlassClassificationEvaluator()
    val expected = sparkCv(ovr, grid, classes, eval, numFolds = 2)
    val got = ours(ovr, grid, eval, numFolds = 2).fit(classes)
    assertSameMetrics(got.avgMetrics, expected.avgMetrics)
    assert(math.abs(got.avgMetrics(0) - got.avgMetrics(1)) > 1e-6)
  }

  test("Params nested through a Pipeline, a tuner and OneVsRest are accepted, as Spark's getUidMap finds them") {
    val lr = new LogisticRegression()
    val ovr = new OneVsRest().setClassifier(lr)
    val inner = new BayesianTrainValidationSplit().setEstimator(ovr)
      .setEstimatorParamMaps(new ParamGridBuilder().addGrid(lr.maxIter, Array(3)).build())
      .setEvaluator(new MulticlassClassificationEvaluator())
    val pipeline = new Pipeline().setStages(Array(new VectorAssembler().setInputCols(Array("x1")), inner))
    val outer = new BayesianCrossValidator().setEstimator(pipeline).setEvaluator(new MulticlassClassificationEvaluator())
      .setEstimatorParamMaps(new ParamGridBuilder().addGrid(lr.regParam, Array(0.1, 0.2)).build())
    outer.validateParams() // throws "belongs to no stage" if lr is not found
    val stranger = new LogisticRegression()
    val error = intercept[IllegalArgumentException](outer.setEstimatorParamMaps(
      new ParamGridBuilder().addGrid(stranger.regParam, Array(0.1)).build()).validateParams())
    assert(error.getMessage.contains(s"Param ${stranger.uid}.regParam belongs to no stage"))
    assert(error.getMessage.contains(lr.uid) && error.getMessage.contains(ovr.uid))
  }

  /** VectorAssembler, then PCA with `k` unset (it has no default), then a linear regression. */
  private def pcaPipeline() = {
    val assembler = new VectorAssembler().setInputCols(Array("x1", "x2")).setOutputCol("raw")
    val pca = new PCA().setInputCol("raw").setOutputCol("pcaFeatures")
    val lr = TestSpark.linear().setFeaturesCol("pcaFeatures")
    (new Pipeline().setStages(Array(assembler, pca, lr)), pca)
  }

  test("a grid over a Param with no default (PCA.k) works and equals CrossValidator") {
    val (pipeline, pca) = pcaPipeline()
    val grid = new ParamGridBuilder().addGrid(pca.k, Array(1, 2)).build()
    val input = binary.drop("features")
    // One fit at a time on both sides: two PCA fits at once once spun for 16 minutes inside
    // breeze's SVD, in Spark's own CrossValidator (not understood yet; see the closing note).
    val expected = sparkCv(pipeline, grid, input, TestSpark.r2(), numFolds = 2, parallelism = 1)
    val got = ours(pipeline, grid, TestSpark.r2(), numFolds = 2, parallelism = 1).fit(input)
    assertSameMetrics(got.avgMetrics, expected.avgMetrics)
    assert(math.abs(got.avgMetrics(0) - got.avgMetrics(1)) > 1e-6)
  }

  test("a Scala SearchSpace or an external proposer over PCA.k (no default) works") {
    val (pipeline, pca) = pcaPipeline()
    val input = binary.drop("features")
    val random = new BayesianCrossValidator().setEstimator(pipeline).setEvaluator(TestSpark.r2())
      .setSearchSpace(SearchSpace().intRange(pca.k, 1, 2)).setSearchAlgorithm("random").setMaxEvals(2)
      .setNumFolds(2).setSeed(3).fit(input)
    assert(random.trialResults.map(_.status) == Seq("ok", "ok"))
    assert(random.trialResults.forall(t => Set[Any](1, 2).contains(t.settings.head._2)))
    val external = new TrialProposer {
      def propose(requestJson: String): String =
        s"""{"params": [{"parent": "${pca.uid}", "name": "k", "value": 1}], "vals": {}}"""
      def example(): String = s"""{"params": [{"parent": "${pca.uid}", "name": "k", "value": 2}]}"""
    }
    val tpe = new BayesianTrainValidationSplit().setEstimator(pipeline).setEvaluator(TestSpark.r2())
      .setSearchAlgorithm("tpe").setTrialProposer(external).setMaxEvals(1).fit(input)
    assert(tpe.trialResults.map(_.status) == Seq("ok"))
  }

  test("a bad example() from an external proposer fails fit before any job, naming the call") {
    val (pipeline, _) = pcaPipeline()
    val external = new TrialProposer {
      def propose(requestJson: String): String = """{"exhausted": true}"""
      def example(): String = "not json"
    }
    val error = intercept[IllegalStateException](new BayesianCrossValidator().setEstimator(pipeline)
      .setEvaluator(new BinaryClassificationEvaluator()).setSearchAlgorithm("tpe").setTrialProposer(external)
      .setMaxEvals(1).fit(binary.drop("features")))
    assert(error.getMessage.contains("malformed JSON for example()"))
  }

  test("a bigint, smallint or tinyint foldCol works as PySpark's does, with the int column's folds of Spark's CrossValidator") {
    val lr = TestSpark.linear()
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.01, 1.0)).build()
    val expected = sparkCv(lr, grid, binary, TestSpark.r2(), "fold") // Scala: int only
    for (integer <- Seq("bigint", "smallint", "tinyint")) withClue(s"$integer foldCol: ") {
      val got = ours(lr, grid, TestSpark.r2(), "fold")
        .fit(binary.withColumn("fold", col("fold").cast(integer)))
      assertSameMetrics(got.avgMetrics, expected.avgMetrics)
    }
  }

  test("a non-integer foldCol fails before any job, naming the Param and the allowed types") {
    val (lr, grid) = countingGrid()
    val error = intercept[IllegalArgumentException](ours(lr, grid, new BinaryClassificationEvaluator(), "fold")
      .fit(binary.withColumn("fold", col("fold").cast("double"))))
    assert(error.getMessage.contains("foldCol = fold is not allowed: its type is double, must be an integer type"))
  }

  private def countingGrid() = {
    val est = new CountingEstimator()
    (est, new ParamGridBuilder().addGrid(est.regParam, Array(0.0, 0.1)).build())
  }

  /** Runs ours on `data` and returns its error, checking that no trial's fit started. */
  private def oursFails(data: DataFrame, numFolds: Int): IllegalArgumentException = {
    val (est, grid) = countingGrid()
    CountingEstimator.reset()
    val error = intercept[IllegalArgumentException](ours(est, grid, new BinaryClassificationEvaluator(), "fold")
      .setNumFolds(numFolds).fit(data))
    assert(CountingEstimator.maxRunning.get == 0, "a trial was fitted")
    error
  }

  test("a fold number out of range fails with Spark's message before any trial is fitted") {
    val data = binary.withColumn("fold", when(col("fold") === 2, lit(5)).otherwise(col("fold")))
    val lr = new LogisticRegression().setMaxIter(5)
    val theirs = intercept[Exception](sparkCv(lr, new ParamGridBuilder().addGrid(lr.regParam, Array(0.1)).build(),
      data, new BinaryClassificationEvaluator(), "fold"))
    val sparkMessage = "Fold number must be in range [0, 3), but got 5."
    assert(Iterator.iterate[Throwable](theirs)(_.getCause).takeWhile(_ != null).exists(_.getMessage.contains(sparkMessage)))
    assert(oursFails(data, 3).getMessage == s"foldCol = fold: $sparkMessage")
    assert(oursFails(binary.withColumn("fold", col("fold") - 1), 3).getMessage.contains(
      "Fold number must be in range [0, 3), but got -1."))
  }

  test("an empty validation or training fold fails with PySpark's message before any trial is fitted") {
    // PySpark's CrossValidator checks this; Spark's Scala one would score the empty fold.
    assert(oursFails(binary, 4).getMessage == "foldCol = fold: The validation data at fold 3 is empty.")
    assert(oursFails(binary.withColumn("fold", lit(1)), 2).getMessage ==
      "foldCol = fold: The validation data at fold 0 is empty.")
    assert(oursFails(binary.withColumn("fold", lit(0)), 2).getMessage ==
      "foldCol = fold: The training data at fold 0 is empty.")
    assert(oursFails(binary.withColumn("fold", when(col("x1") > 0, col("fold")).otherwise(lit(null))), 3)
      .getMessage.contains("have a null fold number"))
  }

  test("avgMetrics of a pruned trial is NaN, so argmax(avgMetrics) is the best trial; trials keeps its partial mean") {
    // maxIter 0 leaves the coefficients at zero: AUC 0.5 on its first fold, far below the median.
    val lr = new LogisticRegression()
    val grid = new ParamGridBuilder().addGrid(lr.maxIter, Array(10, 0, 5)).build()
    val model = ours(lr, grid, new BinaryClassificationEvaluator()).setParallelism(1)
      .setPruning("median").setPruningMinTrials(1).fit(binary)
    assert(model.trialResults.map(_.status) == Seq("ok", "pruned", "ok"))
    assert(model.avgMetrics(1).isNaN && model.stdMetrics(1).isNaN)
    assert(model.trialResults(1).metric == 0.5)
    assert(model.trials.orderBy("trialId").collect()(1).getAs[Double]("metric") == 0.5)
    val argmax = model.avgMetrics.indices.filter(i => !model.avgMetrics(i).isNaN).maxBy(model.avgMetrics)
    assert(argmax == model.bestTrialId)
    assert(!model.avgMetrics(0).isNaN && model.avgMetrics(0) == model.trialResults(0).metric)
  }
}
