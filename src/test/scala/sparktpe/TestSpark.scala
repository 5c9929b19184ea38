package sparktpe

import java.util.concurrent.ConcurrentLinkedQueue

import scala.jdk.CollectionConverters._
import scala.util.Random

import org.apache.spark.ml.evaluation.RegressionEvaluator
import org.apache.spark.ml.linalg.Vectors
import org.apache.spark.ml.regression.LinearRegression
import org.apache.spark.scheduler.{SparkListener, SparkListenerJobStart}
import org.apache.spark.sql.{DataFrame, SparkSession}

/** One local[2] SparkSession for the whole Scala test run, bound to loopback. */
object TestSpark {
  lazy val spark: SparkSession = SparkSession.builder()
    .master("local[2]")
    .appName("sparktpe-scala-tests")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "2")
    .getOrCreate()

  /** Descriptions of every job started, recorded by a listener. */
  lazy val jobDescriptions: ConcurrentLinkedQueue[String] = {
    val seen = new ConcurrentLinkedQueue[String]()
    spark.sparkContext.addSparkListener(new SparkListener {
      override def onJobStart(job: SparkListenerJobStart): Unit =
        seen.add(Option(job.properties).map(_.getProperty("spark.job.description", "")).getOrElse(""))
    })
    seen
  }

  /** Waits (up to 10 s) until `cond` holds; the listener bus delivers events asynchronously. */
  def eventually(cond: => Boolean): Boolean = {
    val deadline = System.nanoTime() + 10e9.toLong
    while (!cond && System.nanoTime() < deadline) Thread.sleep(50)
    cond
  }

  /**
   * A linear regression by the normal equations: one Spark job per fit (LogisticRegression runs
   * one per iteration), with regParam and elasticNetParam to tune. For tests about the tuner,
   * not the model.
   */
  def linear(): LinearRegression = new LinearRegression().setSolver("normal")

  /** R squared of a regression: larger is better, as AUC is; one Spark job per evaluation. */
  def r2(): RegressionEvaluator = new RegressionEvaluator().setMetricName("r2")

  def descriptions: Seq[String] = jobDescriptions.asScala.toSeq

  /**
   * A small logistic problem: label = 1 when x1 + 0.5 x2 + noise > 0, 240 rows, with an int
   * `fold` column in [0, 3) for foldCol tests.
   */
  lazy val binary: DataFrame = {
    val rng = new Random(17)
    val rows = (0 until 240).map { i =>
      val x1 = rng.nextGaussian()
      val x2 = rng.nextGaussian()
      val label = if (x1 + 0.5 * x2 + 0.8 * rng.nextGaussian() > 0) 1.0 else 0.0
      (label, Vectors.dense(x1, x2), i % 3, x1, x2)
    }
    spark.createDataFrame(rows).toDF("label", "features", "fold", "x1", "x2")
  }

  /** Three classes, for estimator settings that cannot fit them (binomial family). */
  lazy val threeClasses: DataFrame = {
    val rng = new Random(5)
    val rows = (0 until 150).map { i =>
      val label = (i % 3).toDouble
      (label, Vectors.dense(label + rng.nextGaussian() * 0.7, rng.nextGaussian()))
    }
    spark.createDataFrame(rows).toDF("label", "features")
  }
}
