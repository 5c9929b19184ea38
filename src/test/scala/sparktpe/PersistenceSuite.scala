package sparktpe

import java.nio.file.Files

import org.apache.spark.ml.{Pipeline, PipelineModel, PipelineStage}
import org.apache.spark.ml.classification.{DecisionTreeClassifier, LogisticRegression, OneVsRest}
import org.apache.spark.ml.evaluation.{MulticlassClassificationEvaluator, RegressionEvaluator}
import org.apache.spark.ml.feature.VectorAssembler
import org.apache.spark.ml.param.{Param, ParamMap}
import org.apache.spark.ml.regression.{LinearRegression, LinearRegressionModel}
import org.apache.spark.ml.tuning.{CrossValidator, CrossValidatorModel, ParamGridBuilder}
import org.scalatest.funsuite.AnyFunSuite

/** Save and load: Spark's metadata and stage folders, and nothing lost on the round trip. */
class PersistenceSuite extends AnyFunSuite {
  private val data = TestSpark.binary
  private def dir(): String = Files.createTempDirectory("sparktpe-save").resolve("x").toString

  // What is saved does not depend on the estimator: a linear regression by the normal equations
  // fits in one Spark job (a logistic regression takes one per iteration), RegressionEvaluator
  // scores in one.
  private def tuner() = {
    val lr = new LinearRegression().setSolver("normal")
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.01, 0.5)).build()
    (lr, new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(new RegressionEvaluator()).setNumFolds(2).setSeed(4).setParallelism(2)
      .setCollectSubModels(true))
  }

  // One fit each of ours and Spark's CrossValidator with sub-models, shared by the tests below.
  private lazy val withSubModels = tuner()._2.fit(data)
  private lazy val sparkWithSubModels = {
    val (lr, cv) = tuner()
    new CrossValidator().setEstimator(lr).setEstimatorParamMaps(cv.getEstimatorParamMaps)
      .setEvaluator(new RegressionEvaluator()).setNumFolds(2).setCollectSubModels(true).fit(data)
  }
  private val coefficients = (m: Any) => m.asInstanceOf[LinearRegressionModel].coefficients

  test("an estimator round-trips with its Params, grid and search space") {
    val (lr, cv) = tuner()
    cv.setSearchSpace(SearchSpace().logUniform(lr.regParam, 1e-3, 1).intRange(lr.maxIter, 2, 9)
      .choice(lr.fitIntercept, Seq(true, false))).setSearchAlgorithm("random").setMaxEvals(3)
      .setReuseUntunedStages(false)
    val path = dir()
    cv.write.overwrite().save(path)
    val loaded = BayesianCrossValidator.load(path)
    assert(loaded.uid == cv.uid)
    assert(loaded.getNumFolds == 2 && loaded.getSeed == 4 && loaded.getParallelism == 2)
    assert(loaded.getSearchAlgorithm == "random" && loaded.getMaxEvals == 3)
    assert(!loaded.getReuseUntunedStages)
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
    val model = withSubModels
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
    assert(coefficients(loaded.bestModel) == coefficients(model.bestModel))
    assert(loaded.subModels.length == 2 && loaded.subModels.forall(_.length == 2))
    assert(coefficients(loaded.subModels(1)(0)) == coefficients(model.subModels(1)(0)))
    // with the option "false", sub-models are not written
    model.write.overwrite().option("persistSubModels", "false").save(path)
    assert(!BayesianCrossValidatorModel.load(path).hasSubModels)
  }

  test("sub-models are saved by default when the model has them, as Spark's CrossValidatorModel does") {
    val (ourPath, sparkPath) = (dir(), dir())
    withSubModels.write.save(ourPath)
    sparkWithSubModels.write.save(sparkPath)
    assert(CrossValidatorModel.load(sparkPath).hasSubModels)
    val loaded = BayesianCrossValidatorModel.load(ourPath)
    assert(loaded.hasSubModels)
    assert(coefficients(loaded.subModels(0)(1)) == coefficients(withSubModels.subModels(0)(1)))
  }

  test("copy keeps sub-models, as copies (as Spark's CrossValidatorModel.copy)") {
    val copied = withSubModels.copy(ParamMap.empty)
    val sparkCopied = sparkWithSubModels.copy(ParamMap.empty)
    assert(sparkCopied.hasSubModels && (sparkCopied.subModels(1)(0) ne sparkWithSubModels.subModels(1)(0)))
    assert(copied.hasSubModels && (copied.subModels(1)(0) ne withSubModels.subModels(1)(0)))
    assert(coefficients(copied.subModels(1)(0)) == coefficients(withSubModels.subModels(1)(0)))
    assert(copied.subModels(1)(0).uid == withSubModels.subModels(1)(0).uid)
  }

  test("a bad persistSubModels option, or true without sub-models, fails with Spark's messages") {
    def message(write: => Unit) = intercept[IllegalArgumentException](write).getMessage
    val bad = message(withSubModels.write.option("persistSubModels", "maybe").save(dir()))
    assert(bad == message(sparkWithSubModels.write.option("persistSubModels", "maybe").save(dir())))
    assert(bad == "requirement failed: persistSubModels option value maybe is invalid, the possible " +
      "values are \"true\" or \"false\"")
    val m = withSubModels
    val noSubModels = new BayesianCrossValidatorModel(m.uid, m.bestModel, m.trialResults, m.stopReason, None)
    m.extractParamMap().toSeq.foreach(pp => noSubModels.set(pp.param.asInstanceOf[Param[Any]], pp.value))
    val path = dir()
    // Spark's CrossValidatorModelWriter says this (after writing its metadata; we check first).
    assert(message(noSubModels.write.option("persistSubModels", "TRUE").save(path)) == "requirement " +
      "failed: When persisting tuning models, you can only set persistSubModels to true if the " +
      "tuning was done with collectSubModels set to true. To save the sub-models, try rerunning " +
      "fitting with collectSubModels set to true.")
    assert(!new java.io.File(path).exists) // nothing written
    noSubModels.write.save(path) // the default is "false" without sub-models
    assert(!BayesianCrossValidatorModel.load(path).hasSubModels)
  }

  test("estimator-valued settings (ovr.classifier in lr, dt) save and load for the tuner and its model") {
    val lr = new LogisticRegression().setMaxIter(3)
    val dt = new DecisionTreeClassifier().setMaxDepth(1)
    // OneVsRest's own writer needs a classifier set. (Spark's OneVsRest.copy then fits that one,
    // lr, for every setting, whatever the grid says; Spark's tuners and ours fit the same.)
    val ovr = new OneVsRest().setClassifier(lr)
    val classifier = ovr.classifier.asInstanceOf[Param[Any]]
    // dt.maxDepth: a Param of a stage that is only a value of ovr.classifier, nowhere in ovr.
    // Two settings (each classifier once, each with its maxDepth) fit half of the full product's.
    val grid = Array(ParamMap(classifier -> lr, dt.maxDepth -> 1), ParamMap(classifier -> dt, dt.maxDepth -> 2))
    val cv = new BayesianCrossValidator().setEstimator(ovr).setEstimatorParamMaps(grid)
      .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(2).setSeed(4).setParallelism(2)
    def describe(maps: Array[ParamMap]) = maps.toSeq.map { m =>
      val stage = m(classifier).asInstanceOf[PipelineStage]
      (stage.uid, stage.getClass, m.get(dt.maxDepth))
    }
    val tunerPath = dir()
    cv.write.save(tunerPath)
    val loadedCv = BayesianCrossValidator.load(tunerPath)
    assert(describe(loadedCv.getEstimatorParamMaps) == describe(grid))
    assert(loadedCv.getEstimatorParamMaps.map(_(classifier)).collect { case l: LogisticRegression => l.getMaxIter }
      .toSeq == Seq(3))
    assert(loadedCv.getEstimatorParamMaps.exists(_(classifier).isInstanceOf[DecisionTreeClassifier]))

    // Two classes: OneVsRest fits 2 classifiers per setting and fold, not 3.
    val model = cv.fit(data)
    val modelPath = dir()
    model.write.save(modelPath)
    val loaded = BayesianCrossValidatorModel.load(modelPath)
    assert(loaded.avgMetrics.sameElements(model.avgMetrics))
    assert(describe(loaded.getEstimatorParamMaps) == describe(model.getEstimatorParamMaps))
    assert(loaded.trials.collect().toSeq.map(_.toSeq) == model.trials.collect().toSeq.map(_.toSeq))
    assert(loaded.trialResults.map(t => TrialResult.settingsKey(t.settings)) ==
      model.trialResults.map(t => TrialResult.settingsKey(t.settings)))
    // trialsJson (no stage folders) resolves its stage uids against the grid's stages
    val resumed = cv.copy(ParamMap.empty).setInitialTrials(model)
    assert(resumed.initialTrialResults.map(t => TrialResult.settingsKey(t.settings)) ==
      model.trialResults.map(t => TrialResult.settingsKey(t.settings)))
  }

  test("a Pipeline's stages alternatives and a SearchSpace choice over stages save and load") {
    val assembler = new VectorAssembler().setInputCols(Array("x1", "x2")).setOutputCol("features")
    val lr = new LogisticRegression().setMaxIter(3)
    val dt = new DecisionTreeClassifier()
    val pipeline = new Pipeline().setStages(Array(assembler, lr))
    val stages = pipeline.stages.asInstanceOf[Param[Any]]
    val alternatives = Seq(Array[PipelineStage](assembler, lr), Array[PipelineStage](assembler, dt))
    val grid = new ParamGridBuilder().addGrid(stages, alternatives).addGrid(dt.maxDepth, Array(1)).build()
    val cv = new BayesianCrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid)
      .setEvaluator(new MulticlassClassificationEvaluator()).setNumFolds(2).setSeed(8)
      .setSearchSpace(SearchSpace().choice(stages, alternatives)).setSearchAlgorithm("grid")
      .setCandidateStages(Array(dt)) // as the Python wrapper sets them for a space over stages
    val path = dir()
    cv.write.save(path)
    val loaded = BayesianCrossValidator.load(path)
    def uids(maps: Array[ParamMap]) = maps.toSeq.map(m =>
      (m(stages).asInstanceOf[Array[PipelineStage]].map(_.uid).toSeq, m.get(dt.maxDepth)))
    assert(uids(loaded.getEstimatorParamMaps) == uids(grid))
    val choice = loaded.getSearchSpace.dimensions.head.asInstanceOf[SearchSpace.Choice]
    assert(choice.values.map(_.asInstanceOf[Array[PipelineStage]].map(_.uid).toSeq) ==
      alternatives.map(_.map(_.uid).toSeq))
    assert(loaded.getCandidateStages.map(_.uid).toSeq == Seq(dt.uid))
    assert(loaded.getCandidateStages.head.isInstanceOf[DecisionTreeClassifier])
    val input = data.drop("features")
    val (before, after) = (cv.fit(input), loaded.fit(input))
    after.avgMetrics.zip(before.avgMetrics).foreach { case (a, b) => assert(math.abs(a - b) < 1e-12) }
    assert(math.abs(before.avgMetrics(0) - before.avgMetrics(1)) > 1e-6) // lr and dt differ
  }

  test("getEstimatorParamMaps keeps a trial's invalid value, through save and load") {
    val lr = new LogisticRegression().setMaxIter(3)
    val proposer = new TrialProposer {
      private var calls = 0
      def propose(requestJson: String): String = {
        calls += 1
        val value = if (calls == 1) -1.0 else 0.1
        s"""{"params": [{"parent": "${lr.uid}", "name": "regParam", "value": $value}], "vals": {}}"""
      }
      def example(): String = """{"params": []}"""
    }
    val model = new BayesianCrossValidator().setEstimator(lr).setEvaluator(new MulticlassClassificationEvaluator())
      .setSearchAlgorithm("tpe").setTrialProposer(proposer).setMaxEvals(2).setNumFolds(2).fit(data)
    assert(model.trialResults.map(_.status) == Seq("failed", "ok"))
    assert(model.trialResults(0).error.get.contains("regParam given invalid value -1.0"))
    assert(model.getEstimatorParamMaps(0).get(lr.regParam).contains(-1.0))
    assert(model.getEstimatorParamMaps(1).get(lr.regParam).contains(0.1))
    // toSeq validates (Spark's ParamPair) and so refuses it; paramMapEntries (for py4j) does not
    intercept[IllegalArgumentException](model.getEstimatorParamMaps(0).toSeq)
    val entries = model.paramMapEntries(model.getEstimatorParamMaps(0))
    assert(entries.size == 1 && entries.get(0)(0) == lr.regParam && entries.get(0)(1) == -1.0)
    val path = dir()
    model.write.save(path)
    val loaded = BayesianCrossValidatorModel.load(path)
    assert(loaded.getEstimatorParamMaps(0).get(lr.regParam).contains(-1.0))
    assert(loaded.trialResults(0).settings.map(_._2) == Seq(-1.0))
  }

  test("Spark's CrossValidatorModel.load refuses our saved model with an error naming our class") {
    val path = dir()
    withSubModels.write.option("persistSubModels", "false").save(path)
    val error = intercept[IllegalArgumentException](CrossValidatorModel.load(path))
    assert(error.getMessage == "requirement failed: Error loading metadata: Expected class name " +
      "org.apache.spark.ml.tuning.CrossValidatorModel but found class name sparktpe.BayesianCrossValidatorModel")
    assert(BayesianCrossValidatorModel.load(path).uid == withSubModels.uid) // ours loads it
  }

  test("a failed trial's error survives the round trip") {
    val lr = new LogisticRegression().setMaxIter(3)
    val grid = new ParamGridBuilder().addGrid(lr.family, Array("multinomial", "binomial")).build()
    val model = new BayesianCrossValidator().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(new MulticlassClassificationEvaluator())
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
    val lr = new LinearRegression().setSolver("normal")
    val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.01, 0.5)).build()
    val tvs = new BayesianTrainValidationSplit().setEstimator(lr).setEstimatorParamMaps(grid)
      .setEvaluator(new RegressionEvaluator()).setTrainRatio(0.6).setSeed(2)
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
