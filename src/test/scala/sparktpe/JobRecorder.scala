package sparktpe

import java.util.concurrent.ConcurrentHashMap

import scala.jdk.CollectionConverters._

import org.apache.spark.SparkContext
import org.apache.spark.scheduler.{JobSucceeded, SparkListener, SparkListenerJobEnd, SparkListenerJobStart}

/**
 * Records every Spark job of the test session: its group, tags and description as it started,
 * and whether it succeeded. Job events arrive on the listener bus, after the fact: read them
 * with [[TestSpark.eventually]] or after [[drained]].
 */
object JobRecorder {
  final case class Job(id: Int, group: String, tags: Set[String], description: String) {
    def succeeded: Option[Boolean] = Option(ends.get(id)).map(_.booleanValue)
  }

  private val started = new ConcurrentHashMap[Int, Job]()
  private val ends = new ConcurrentHashMap[Int, java.lang.Boolean]()

  private lazy val installed: Unit = TestSpark.spark.sparkContext.addSparkListener(new SparkListener {
    override def onJobStart(job: SparkListenerJobStart): Unit = {
      val p = Option(job.properties)
      def prop(k: String) = p.flatMap(x => Option(x.getProperty(k))).getOrElse("")
      started.put(job.jobId, Job(job.jobId, prop("spark.jobGroup.id"),
        prop("spark.job.tags").split(",").filter(_.nonEmpty).toSet, prop("spark.job.description")))
    }
    override def onJobEnd(job: SparkListenerJobEnd): Unit =
      ends.put(job.jobId, job.jobResult == JobSucceeded)
  })

  def install(): Unit = installed

  /** Jobs with a tag starting with `tagPrefix`, in job id order. */
  def withTagPrefix(tagPrefix: String): Seq[Job] =
    started.values.asScala.toSeq.filter(_.tags.exists(_.startsWith(tagPrefix))).sortBy(_.id)

  /** The prefix of every job tag a tuner's fits put on their jobs. */
  def fitTagPrefix(tunerUid: String): String = s"sparktpe-fit-$tunerUid-"

  /** Waits until every job started so far has ended (as the listener bus reports them). */
  def drained(sc: SparkContext): Boolean =
    TestSpark.eventually(sc.statusTracker.getActiveJobIds().isEmpty &&
      started.keySet.asScala.forall(ends.containsKey))
}
