package sparktpe

import java.util.concurrent.atomic.AtomicInteger

import org.apache.spark.ml.Estimator
import org.apache.spark.ml.classification.{LogisticRegression, LogisticRegressionModel}
import org.apache.spark.ml.param.{DoubleParam, IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.Dataset
import org.apache.spark.sql.types.StructType

/**
 * A test estimator: logistic regression that counts its fits and how many of them run at once, holds
 * each fit open a little so overlaps show, and throws when `regParam` equals `failAt`. After
 * `CountingEstimator.reset(gate = n)`, the first n fits wait until n of them run at once (or
 * 2 minutes pass), so a pool that runs n at once is seen to, whatever the machine's speed.
 * `maxIter` (default 5) bounds the logistic regression's iterations (each at least one Spark job).
 */
class CountingEstimator(override val uid: String) extends Estimator[LogisticRegressionModel] {
  def this() = this(Identifiable.randomUID("counting"))

  val regParam = new DoubleParam(this, "regParam", "regularization")
  val failAt = new DoubleParam(this, "failAt", "regParam value whose fit throws")
  val maxIter = new IntParam(this, "maxIter", "iterations of the logistic regression")
  setDefault(regParam -> 0.0, failAt -> -1.0, maxIter -> 5)
  def setFailAt(value: Double): this.type = set(failAt, value)
  def setMaxIter(value: Int): this.type = set(maxIter, value)

  override def fit(dataset: Dataset[_]): LogisticRegressionModel = {
    CountingEstimator.fits.incrementAndGet()
    val now = CountingEstimator.running.incrementAndGet()
    CountingEstimator.maxRunning.accumulateAndGet(now, math.max)
    try {
      CountingEstimator.gate.countDown()
      CountingEstimator.gate.await(2, java.util.concurrent.TimeUnit.MINUTES)
      Thread.sleep(50)
      if ($(regParam) == $(failAt)) throw new IllegalStateException(s"planned failure at ${$(regParam)}")
      new LogisticRegression().setRegParam($(regParam)).setMaxIter($(maxIter)).fit(dataset)
    } finally {
      CountingEstimator.running.decrementAndGet()
    }
  }

  override def transformSchema(schema: StructType): StructType =
    new LogisticRegression().transformSchema(schema)

  override def copy(extra: ParamMap): CountingEstimator = defaultCopy(extra)
}

object CountingEstimator {
  val running = new AtomicInteger()
  val maxRunning = new AtomicInteger()
  /** Fits started since the last reset (folds and refits alike). */
  val fits = new AtomicInteger()
  @volatile private var gate = new java.util.concurrent.CountDownLatch(0)
  def reset(gate: Int = 0): Unit = {
    running.set(0); maxRunning.set(0); fits.set(0)
    this.gate = new java.util.concurrent.CountDownLatch(gate)
  }
}
