package sparktpe

import java.nio.file.Files

import org.apache.spark.ml.{Pipeline, PipelineModel}
import org.apache.spark.ml.classification.{LogisticRegression, LogisticRegressionModel}
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator
import org.apache.spark.ml.feature.VectorAssembler
import org.apache.spark.ml.tuning.ParamGridBuilder
import org.scalatest.funsuite.AnyFunSuite

/** Save and load: Spark's metadata and stage folders, and nothing lost on the round trip. */
class PersistenceSuite extends AnyFunSuite {
  private val data = TestSpark.binary
  private def dir(): String = Files.createTempDirectory("sparktpe-save").resolve("x").toString

  private def tuner() = {
    val lr = new LogisticRegression().setMaxIter(10)
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.01, 0.5)).build()
    (lr, new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(new BinaryClassificationEvaluator()).setNumFolds(2).setSeed(4).setParallelism(2)
      .setCollectSubModels(true))
  }

  test("an estimator round-trips with its Params, grid and search space") {
    val (lr, cv) = tuner()
    cv.setSearchSpace(SearchSpace().logUniform(lr.regParam, 1e-3, 1).intRange(lr.maxIter, 2, 9)
      .choice(lr.fitIntercept, Seq(true, false))).setSearchAlgorithm("random").setMaxEvals(5)
    val path = dir()
    cv.write.overwrite().save(path)
    val loaded = BayesianCrossValidator.load(path)
    assert(loaded.uid == cv.uid)
    assert(loaded.getNumFolds == 2 && loaded.getSeed == 4 && loaded.getParallelism == 2)
    assert(loaded.getSearchAlgorithm == "random" && loaded.getMaxEvals == 5)
    assert(loaded.getEstimator.uid == lr.uid)
    assert(loaded.getEstimatorParamMaps.map(_.toSeq.map(p => (p.param.name, p.value)).toSet).toSeq ==
      cv.getEstimatorParamMaps.map(_.toSeq.map(p => (p.param.name, p.value)).toSet).toSeq)
    assert(loaded.getSearchSpace.toString == cv.getSearchSpace.toString)
    assert(!loaded.isSet(loaded.foldCol)) // defaults stay defaults
    // the loaded estimator searches exactly as the saved one
    val (again, before) = (loaded.fit(data), cv.fit(data))
    assert(again.trialResults.map(_.settings.map(_._2)) == before.trialResults.map(_.settings.map(_._2)))
    // (to rounding: Spark's sums may take another order between runs)
    again.avgMetrics.zip(before.avgMetrics).foreach { case (a, b) => assert(math.abs(a - b) < 1e-12) }
  }

  test("a model round-trips: trials, metrics, settings, best model and sub-models") {
    val (_, cv) = tuner()
    val model = cv.fit(data)
    val path = dir()
    model.write.overwrite().option("persistSubModels", "true").save(path)
    val loaded = BayesianCrossValidatorModel.load(path)
    assert(loaded.uid == model.uid)
    assert(loaded.avgMetrics.sameElements(model.avgMetrics))
    assert(loaded.stdMetrics.sameElements(model.stdMetrics))
    assert(loaded.stopReason == model.stopReason)
    assert(loaded.getEstimatorParamMaps.map(_.toSeq.map(_.value)).toSeq ==
      model.getEstimatorParamMaps.map(_.toSeq.map(_.value)).toSeq)
    assert(loaded.trials.collect().toSeq.map(_.toSeq) == model.trials.collect().toSeq.map(_.toSeq))
    val coefficients = (m: Any) => m.asInstanceOf[LogisticRegressionModel].coefficients
    assert(coefficients(loaded.bestModel) == coefficients(model.bestModel))
    assert(loaded.subModels.length == 2 && loaded.subModels.forall(_.length == 2))
    assert(coefficients(loaded.subModels(1)(0)) == coefficients(model.subModels(1)(0)))
    // without the option, sub-models are not written
    model.write.overwrite().save(path)
    assert(!BayesianCrossValidatorModel.load(path).hasSubModels)
  }

  test("a failed trial's error survives the round trip") {
    val lr = new LogisticRegression().setMaxIter(5)
    val grid = new ParamGridBuilder().addGrid(lr.family, Array("multinomial", "binomial")).build()
    val model = new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(new org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator())
      .setNumFolds(2).fit(TestSpark.threeClasses)
    val path = dir()
    model.write.overwrite().save(path)
    val loaded = BayesianCrossValidatorModel.load(path)
    assert(loaded.trialResults.map(_.status) == Seq("ok", "failed"))
    assert(loaded.trialResults(1).error.get.contains("Binomial family only supports"))
    assert(loaded.avgMetrics(1).isNaN)
  }

  test("a TrainValidationSplit model and a tuner inside a Pipeline round-trip") {
    val assembler = new VectorAssembler().setInputCols(Array("x1", "x2")).setOutputCol("features")
    val lr = new LogisticRegression().setMaxIter(10)
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.01, 0.5)).build()
    val tvs = new BayesianTrainValidationSplit().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(new BinaryClassificationEvaluator()).setTrainRatio(0.6).setSeed(2)
    val input = data.drop("features")
    val fitted = new Pipeline().setStages(Array(assembler, tvs)).fit(input)
    val path = dir()
    fitted.write.overwrite().save(path)
    val loaded = PipelineModel.load(path)
    val (a, b) = (fitted.stages.last.asInstanceOf[BayesianTrainValidationSplitModel],
      loaded.stages.last.asInstanceOf[BayesianTrainValidationSplitModel])
    assert(b.validationMetrics.sameElements(a.validationMetrics) && b.getTrainRatio == 0.6)
    assert(loaded.transform(input).select("prediction").collect().toSeq ==
      fitted.transform(input).select("prediction").collect().toSeq)
    val pipelinePath = dir()
    new Pipeline().setStages(Array(assembler, tvs)).write.save(pipelinePath)
    val reloaded = Pipeline.load(pipelinePath).getStages.last.asInstanceOf[BayesianTrainValidationSplit]
    assert(reloaded.uid == tvs.uid && reloaded.getTrainRatio == 0.6 && reloaded.getEstimatorParamMaps.length == 2)
  }
}
