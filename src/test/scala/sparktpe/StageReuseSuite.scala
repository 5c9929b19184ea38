package sparktpe

import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicInteger

import scala.jdk.CollectionConverters._
import scala.util.Random

import org.apache.spark.ml.{Estimator, Pipeline, PipelineModel}
import org.apache.spark.ml.evaluation.Evaluator
import org.apache.spark.ml.feature.{OneHotEncoder, StringIndexer, StringIndexerModel, VectorAssembler}
import org.apache.spark.ml.param.{Param, ParamMap}
import org.apache.spark.ml.regression.{LinearRegression, LinearRegressionModel}
import org.apache.spark.ml.tuning.{CrossValidator, ParamGridBuilder, TrainValidationSplit}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType
import org.scalatest.funsuite.AnyFunSuite

/** A StringIndexer of `cat` into `catIndex` that counts its fits (the stage reuse should spare). */
class CountingIndexer(override val uid: String) extends Estimator[StringIndexerModel] {
  def this() = this(Identifiable.randomUID("countingIndexer"))
  val stringOrderType = new Param[String](this, "stringOrderType", "StringIndexer's stringOrderType")
  setDefault(stringOrderType -> "frequencyDesc")
  private def indexer = new StringIndexer(uid).setInputCol("cat").setOutputCol("catIndex")
    .setStringOrderType($(stringOrderType))
  override def fit(dataset: Dataset[_]): StringIndexerModel = {
    CountingIndexer.fits.incrementAndGet()
    indexer.fit(dataset)
  }
  override def transformSchema(schema: StructType): StructType = indexer.transformSchema(schema)
  override def copy(extra: ParamMap): CountingIndexer = defaultCopy(extra)
}

object CountingIndexer {
  val fits = new AtomicInteger()
}

/** R squared that first records the names of the persisted RDDs and runs `hook` (which may throw). */
class ProbeEvaluator(override val uid: String) extends Evaluator {
  def this() = this(Identifiable.randomUID("probe"))
  override def evaluate(dataset: Dataset[_]): Double = {
    val names = TestSpark.spark.sparkContext.getPersistentRDDs.values.map(_.name).toSeq
    ProbeEvaluator.cachedNames.addAll(names.asJavaCollection)
    ProbeEvaluator.snapshots.add(names)
    ProbeEvaluator.hook()
    TestSpark.r2().evaluate(dataset)
  }
  override def isLargerBetter: Boolean = true
  override def copy(extra: ParamMap): ProbeEvaluator = defaultCopy(extra)
}

object ProbeEvaluator {
  val cachedNames = new ConcurrentLinkedQueue[String]()
  /** The names persisted at each evaluation. */
  val snapshots = new ConcurrentLinkedQueue[Seq[String]]()
  @volatile var hook: () => Unit = () => ()
  def reset(hook: () => Unit = () => ()): Unit = { cachedNames.clear(); snapshots.clear(); this.hook = hook }
}

/**
 * Stage reuse: a Pipeline's leading stages that no setting touches are fitted once per fold,
 * and the results are still those of Spark's CrossValidator and TrainValidationSplit. The
 * pipeline: a (counting) StringIndexer, a OneHotEncoder and a VectorAssembler, then a linear
 * regression by the normal equations (one job a fit), scored by R squared (one job).
 */
class StageReuseSuite extends AnyFunSuite {
  private val sc = TestSpark.spark.sparkContext

  private lazy val data: DataFrame = {
    val rng = new Random(3)
    val rows = (0 until 80).map { i =>
      val cat = "abcd"(i % 4).toString
      val x = rng.nextGaussian()
      (x + (i % 4) * 0.7 + 0.5 * rng.nextGaussian(), cat, x)
    }
    TestSpark.spark.createDataFrame(rows).toDF("label", "cat", "x")
  }

  private val indexer = new CountingIndexer()
  private val encoder = new OneHotEncoder().setInputCols(Array("catIndex")).setOutputCols(Array("catVector"))
  private val assembler = new VectorAssembler().setInputCols(Array("catVector", "x")).setOutputCol("features")
  private val lr: LinearRegression = TestSpark.linear()
  private val pipeline = new Pipeline().setStages(Array(indexer, encoder, assembler, lr))
  private val grid = new ParamGridBuilder().addGrid(lr.regParam, Array(0.1, 1.0)).build()

  private def ours(parallelism: Int = 1, eval: Evaluator = TestSpark.r2()) =
    new BayesianCrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid).setEvaluator(eval)
      .setNumFolds(2).setSeed(7).setParallelism(parallelism)

  private def persisted: Set[Int] = sc.getPersistentRDDs.keySet.toSet

  private def assertClose(a: Seq[Double], b: Seq[Double]): Unit = {
    assert(a.length == b.length)
    a.zip(b).foreach { case (x, y) => assert(math.abs(x - y) < 1e-9, (a, b)) }
  }

  /** Stage classes and uids of a PipelineModel, and its linear regression's coefficients. */
  private def shape(m: Any): (Seq[(String, String)], Seq[Double]) = {
    val p = m.asInstanceOf[PipelineModel]
    assert(p.uid == pipeline.uid)
    (p.stages.map(s => (s.getClass.getName, s.uid)).toSeq,
      p.stages.last.asInstanceOf[LinearRegressionModel].coefficients.toArray.toSeq)
  }

  private def assertSameModel(got: Any, expected: Any): Unit = {
    val (gotStages, gotCoefficients) = shape(got)
    val (expectedStages, expectedCoefficients) = shape(expected)
    assert(gotStages == expectedStages)
    assertClose(gotCoefficients, expectedCoefficients)
  }

  test("cross-validation: the untouched stages are fitted once per fold and once for the refit, " +
      "with CrossValidator's metrics, best model and sub-models at parallelism 1 and 3") {
    val expected = new CrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid)
      .setEvaluator(TestSpark.r2()).setNumFolds(2).setSeed(7).setCollectSubModels(true).fit(data)
    for (parallelism <- Seq(1, 3)) {
      val before = persisted
      CountingIndexer.fits.set(0)
      // parallelism 3: both folds of trial 1 and fold 1 of trial 2 start at once, so two
      // threads want fold 1's prefix together, and it is still fitted once.
      val got = ours(parallelism).setCollectSubModels(true).fit(data)
      assert(CountingIndexer.fits.get == 2 + 1, s"parallelism $parallelism")
      assertClose(got.avgMetrics.toSeq, expected.avgMetrics.toSeq)
      assert(math.abs(got.avgMetrics(0) - got.avgMetrics(1)) > 1e-6) // the grid matters
      assertSameModel(got.bestModel, expected.bestModel)
      for (fold <- 0 until 2; trial <- 0 until 2) {
        assertSameModel(got.subModels(fold)(trial), expected.subModels(fold)(trial))
      }
      // Trials share no fitted stage object.
      assert(got.subModels(0)(0).asInstanceOf[PipelineModel].stages.head ne
        got.subModels(0)(1).asInstanceOf[PipelineModel].stages.head)
      assert(persisted == before)
    }
  }

  test("train/validation split: a setting in the middle (OneHotEncoder.dropLast) keeps the " +
      "stages before it reused, with TrainValidationSplit's metrics and best model") {
    val middle = new ParamGridBuilder().addGrid(encoder.dropLast, Array(true, false))
      .addGrid(lr.regParam, Array(0.1, 1.0)).build()
    val expected = new TrainValidationSplit().setEstimator(pipeline).setEstimatorParamMaps(middle)
      .setEvaluator(TestSpark.r2()).setSeed(7).fit(data)
    val before = persisted
    CountingIndexer.fits.set(0)
    val got = new BayesianTrainValidationSplit().setEstimator(pipeline).setEstimatorParamMaps(middle)
      .setEvaluator(TestSpark.r2()).setSeed(7).fit(data)
    assert(CountingIndexer.fits.get == 1 + 1)
    assertClose(got.validationMetrics.toSeq, expected.validationMetrics.toSeq)
    assertSameModel(got.bestModel, expected.bestModel)
    assert(persisted == before)
  }

  test("a tuned first stage: its output is cached per fold and setting, at most " +
      s"${StageReuse.KeyedOutputsPerFold} settings per fold, with CrossValidator's metrics") {
    // Each setting of the indexer serves two trials in a row (ParamGridBuilder's order
    // follows its Params' hashes, so the grid is spelled out).
    val orders = for (order <- Array("frequencyDesc", "alphabetDesc", "alphabetAsc"); reg <- Array(0.1, 1.0))
      yield ParamMap(indexer.stringOrderType -> order, lr.regParam -> reg)
    val expected = new CrossValidator().setEstimator(pipeline).setEstimatorParamMaps(orders)
      .setEvaluator(TestSpark.r2()).setNumFolds(2).setSeed(7).fit(data)
    val before = persisted
    ProbeEvaluator.reset()
    CountingIndexer.fits.set(0)
    val cv = new BayesianCrossValidator().setEstimator(pipeline).setEstimatorParamMaps(orders)
      .setEvaluator(new ProbeEvaluator()).setNumFolds(2).setSeed(7)
    val got = cv.fit(data)
    assert(CountingIndexer.fits.get == 3 * 2 + 1) // 3 settings x 2 folds, and the refit
    assertClose(got.avgMetrics.toSeq, expected.avgMetrics.toSeq)
    assertSameModel(got.bestModel, expected.bestModel)
    val keyedTraining = ProbeEvaluator.snapshots.asScala.toSeq.map(_.count(n =>
      n.startsWith(s"In-memory table sparktpe ${cv.uid} fold 1/2 training rows after stage 1 with")))
    assert(keyedTraining.max == StageReuse.KeyedOutputsPerFold, keyedTraining) // the bound, reached
    assert(persisted == before)
  }

  test("reuseUntunedStages = false: every fit fits every stage, with the same metrics") {
    val before = persisted
    CountingIndexer.fits.set(0)
    val on = ours().fit(data)
    CountingIndexer.fits.set(0)
    val off = ours().setReuseUntunedStages(false).fit(data)
    assert(CountingIndexer.fits.get == 2 * 2 + 1)
    assertClose(off.avgMetrics.toSeq, on.avgMetrics.toSeq)
    assert(off.getReuseUntunedStages == false && on.getReuseUntunedStages) // copied to the model
    assert(persisted == before)
  }

  test("what the search caches is named after the tuner, and released when every trial fails") {
    val before = persisted
    ProbeEvaluator.reset(hook = () => throw new IllegalStateException("planned evaluation failure"))
    val cv = ours(eval = new ProbeEvaluator())
    val error = intercept[SearchException](cv.fit(data))
    assert(error.getMessage.contains("no trial succeeded"))
    // The fits read the cached prefix output of each fold before the evaluations failed.
    val names = ProbeEvaluator.cachedNames.asScala.toSet
    assert(names.contains(s"In-memory table sparktpe ${cv.uid} input"), names)
    assert(names.exists(n => n.startsWith(s"In-memory table sparktpe ${cv.uid} fold 1/2 training rows after")), names)
    assert(persisted == before)
  }

  test("what the search caches is released when the fit is cancelled") {
    val before = persisted
    val cv = ours(eval = new ProbeEvaluator())
    ProbeEvaluator.reset(hook = () => cv.cancel())
    val error = intercept[SearchException](cv.fit(data))
    assert(error.getMessage.startsWith("the search was cancelled"))
    assert(ProbeEvaluator.cachedNames.asScala.exists(_.contains("training rows after the untuned stages")))
    assert(persisted == before)
  }

  test("what the search caches is released when the proposer fails") {
    val failing = new TrialProposer {
      private var calls = 0
      def propose(requestJson: String): String = {
        calls += 1
        if (calls > 1) throw new IllegalStateException("planned proposer failure")
        s"""{"params": [{"parent": "${lr.uid}", "name": "regParam", "value": 0.1}], "vals": {}}"""
      }
      def example(): String = """{"params": []}"""
    }
    val before = persisted
    CountingIndexer.fits.set(0)
    val cv = new BayesianCrossValidator().setEstimator(pipeline).setEvaluator(TestSpark.r2())
      .setSearchAlgorithm("tpe").setTrialProposer(failing).setMaxEvals(2).setNumFolds(2).setSeed(7)
      .setProposerParams(s"""[{"parent": "${lr.uid}", "name": "regParam"}]""")
    val error = intercept[SearchException](cv.fit(data))
    assert(error.getMessage.contains("planned proposer failure"), error.getMessage)
    assert(CountingIndexer.fits.get == 2) // both folds' prefixes were fitted and cached
    assert(persisted == before)
  }

  test("with no reusable stage each fold's rows are cached, named, and released") {
    // Searching the Pipeline's stages touches every stage.
    val stagesParam = pipeline.stages.asInstanceOf[Param[Any]]
    val alternatives = new ParamGridBuilder()
      .addGrid(stagesParam, Seq(Array(indexer, encoder, assembler, lr), Array(indexer, encoder, assembler, TestSpark.linear().setRegParam(1.0))))
      .build()
    val before = persisted
    ProbeEvaluator.reset()
    CountingIndexer.fits.set(0)
    val cv = new BayesianCrossValidator().setEstimator(pipeline).setEstimatorParamMaps(alternatives)
      .setEvaluator(new ProbeEvaluator()).setNumFolds(2).setSeed(7)
    cv.fit(data)
    assert(CountingIndexer.fits.get == 2 * 2 + 1)
    assert(ProbeEvaluator.cachedNames.asScala.toSet.contains(s"In-memory table sparktpe ${cv.uid} fold 2/2 validation rows"))
    assert(persisted == before)
  }

  test("an external proposer: stages are reused only per its declared Params, and a setting " +
      "beyond them is fitted whole") {
    def proposer(settings: Seq[String]) = new TrialProposer {
      private val next = settings.iterator
      def propose(requestJson: String): String = s"""{"params": [${next.next()}], "vals": {}}"""
      def example(): String = """{"params": []}"""
    }
    def regParam(v: Double) = s"""{"parent": "${lr.uid}", "name": "regParam", "value": $v}"""
    val order = s"""{"parent": "${indexer.uid}", "name": "stringOrderType", "value": "alphabetAsc"}"""
    def run(settings: Seq[String], declared: Option[String]) = {
      CountingIndexer.fits.set(0)
      val cv = new BayesianCrossValidator().setEstimator(pipeline).setEvaluator(TestSpark.r2())
        .setSearchAlgorithm("tpe").setTrialProposer(proposer(settings)).setMaxEvals(2).setNumFolds(2).setSeed(7)
      declared.foreach(cv.setProposerParams)
      val model = cv.fit(data)
      (CountingIndexer.fits.get, model.avgMetrics.toSeq)
    }
    val lrOnly = Some(s"""[{"parent": "${lr.uid}", "name": "regParam"}]""")
    val plain = Seq(regParam(0.1), regParam(1.0))
    val (undeclaredFits, undeclaredMetrics) = run(plain, None)
    assert(undeclaredFits == 2 * 2 + 1) // it may set anything: nothing reused
    val (declaredFits, declaredMetrics) = run(plain, lrOnly)
    assert(declaredFits == 2 + 1)
    assertClose(declaredMetrics, undeclaredMetrics)
    // Beyond its declaration: the second trial sets the indexer too, and is fitted whole.
    val beyond = Seq(regParam(0.1), s"${regParam(1.0)}, $order")
    val (beyondFits, beyondMetrics) = run(beyond, lrOnly)
    assert(beyondFits == 2 + 2 + 1)
    val (_, beyondUndeclared) = run(beyond, None)
    assertClose(beyondMetrics, beyondUndeclared)
    val error = intercept[IllegalArgumentException](new BayesianCrossValidator().setProposerParams("""[{"name": 1}]"""))
    assert(error.getMessage.contains("proposerParams"))
  }

  test("the untouched prefix: a stage is touched through any Param of it or of a stage nested in it") {
    val inner = new Pipeline().setStages(Array(encoder, assembler))
    val nested = new Pipeline().setStages(Array(indexer, inner, lr))
    assert(StageReuse.untouchedPrefix(nested, Some(Set(lr.uid))) == 2)
    assert(StageReuse.untouchedPrefix(nested, Some(Set(assembler.uid, lr.uid))) == 1)
    assert(StageReuse.untouchedPrefix(nested, Some(Set(nested.uid))) == 0) // its stages searched
    assert(StageReuse.untouchedPrefix(nested, None) == 0) // unknown: anything may be set
    assert(StageReuse.untouchedPrefix(lr, Some(Set.empty)) == 0) // not a Pipeline
  }
}
