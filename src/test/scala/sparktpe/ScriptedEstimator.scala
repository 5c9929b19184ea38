package sparktpe

import java.util.concurrent.{ConcurrentHashMap, CountDownLatch, TimeUnit}

import org.apache.spark.{SparkContext, TaskContext}
import org.apache.spark.ml.Estimator
import org.apache.spark.ml.classification.{LogisticRegression, LogisticRegressionModel}
import org.apache.spark.ml.param.{DoubleParam, IntParam, Param, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.Dataset
import org.apache.spark.sql.types.StructType

/**
 * A test estimator whose fit first runs a test's own step (block on a latch, throw an error,
 * run a Spark job), then fits a logistic regression with `maxIter` iterations. Tests register
 * the step under a name (`ScriptedEstimator.script`) and set `script` to that name, so the
 * estimator itself stays a plain copyable Param holder.
 */
class ScriptedEstimator(override val uid: String) extends Estimator[LogisticRegressionModel] {
  def this() = this(Identifiable.randomUID("scripted"))

  val regParam = new DoubleParam(this, "regParam", "regularization")
  val maxIter = new IntParam(this, "maxIter", "iterations of the logistic regression")
  val script = new Param[String](this, "script", "name of the registered step to run first")
  setDefault(regParam -> 0.0, maxIter -> 5, script -> "")
  def setScript(value: String): this.type = set(script, value)
  def setMaxIter(value: Int): this.type = set(maxIter, value)

  override def fit(dataset: Dataset[_]): LogisticRegressionModel = {
    Option(ScriptedEstimator.steps.get($(script))).foreach(_(ScriptedEstimator.Call($(regParam), dataset)))
    new LogisticRegression().setRegParam($(regParam)).setMaxIter($(maxIter)).fit(dataset)
  }

  override def transformSchema(schema: StructType): StructType = {
    Option(ScriptedEstimator.schemaSteps.get($(script))).foreach(_())
    new LogisticRegression().transformSchema(schema)
  }

  override def copy(extra: ParamMap): ScriptedEstimator = defaultCopy(extra)
}

object ScriptedEstimator {
  /** What a step is told about the fit it runs in. */
  final case class Call(regParam: Double, dataset: Dataset[_]) {
    /** The Spark job description of the fit: "sparktpe trial 2/4 fold 1/3", "sparktpe refit ...". */
    val description: String =
      Option(SparkContext.getOrCreate().getLocalProperty("spark.job.description")).getOrElse("")
    /** Is this the refit of the best trial on the whole input (not a fold)? */
    def isRefit: Boolean = description.startsWith("sparktpe refit")
  }

  val steps = new ConcurrentHashMap[String, Call => Unit]()
  val schemaSteps = new ConcurrentHashMap[String, () => Unit]()

  private val counter = new java.util.concurrent.atomic.AtomicInteger()

  /** Registers `step` under a fresh name and returns the name, for `setScript`. */
  def register(step: Call => Unit): String = {
    val name = s"step-${counter.incrementAndGet()}"
    steps.put(name, step)
    name
  }

  // Latches that tasks reach by name: a task's closure is serialized, a latch must not be.
  private val latches = new ConcurrentHashMap[String, CountDownLatch]()

  /**
   * Runs a Spark job whose tasks wait until `release` opens or the task is killed (a cancelled
   * job's tasks are marked killed), counting down `entered` once a task runs. The wait gives up
   * after 2 minutes so that a bug makes the test fail rather than hang.
   */
  def blockingJob(call: Call, entered: CountDownLatch, release: CountDownLatch): Unit = {
    val key = s"latches-${counter.incrementAndGet()}"
    latches.put(s"$key-entered", entered)
    latches.put(s"$key-release", release)
    try {
      call.dataset.sparkSession.sparkContext.parallelize(1 to 2, 2).foreach { _ =>
        latches.get(s"$key-entered").countDown()
        val until = System.nanoTime() + TimeUnit.MINUTES.toNanos(2)
        while (!latches.get(s"$key-release").await(20, TimeUnit.MILLISECONDS) &&
          !TaskContext.get().isInterrupted() && System.nanoTime() < until) {}
      }
    } finally {
      latches.remove(s"$key-entered")
      latches.remove(s"$key-release")
    }
  }

  /**
   * Waits for `latch` as code that ignores interrupts does, then sets the interrupt flag again.
   * `interruptSeen` opens when the first interrupt arrives.
   */
  def awaitIgnoringInterrupts(latch: CountDownLatch, interruptSeen: CountDownLatch = new CountDownLatch(1)): Unit = {
    var interrupted = false
    var open = false
    while (!open) {
      try open = latch.await(2, TimeUnit.MINUTES) || true
      catch { case _: InterruptedException => interrupted = true; interruptSeen.countDown() }
    }
    if (interrupted) Thread.currentThread().interrupt()
  }
}
