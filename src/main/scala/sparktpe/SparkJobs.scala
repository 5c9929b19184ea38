package sparktpe

import java.util.{LinkedHashMap => JLinkedHashMap, Map => JMap}

import org.apache.spark.SparkContext
import org.apache.spark.scheduler.{SparkListener, SparkListenerJobStart}

/**
 * How the Spark jobs of a fit are labelled: with job tags (`SparkContext.addJobTag`) and a
 * description, added to the thread's local properties, never replacing them. So the caller's
 * job group, scheduler pool and other properties stay on our jobs, and a notebook or platform
 * that cancels the caller's group cancels our jobs too.
 */
private[sparktpe] object SparkJobs {
  private val DescriptionKey = "spark.job.description"

  /**
   * Runs `body` with `tags` added to this thread's job tags and `description` as its job
   * description, then restores both as they were. Other local properties are left alone.
   */
  def withTags[T](sc: SparkContext, tags: Seq[String], description: String)(body: => T): T = {
    val tagsBefore = sc.getJobTags()
    val descriptionBefore = sc.getLocalProperty(DescriptionKey)
    tags.foreach(sc.addJobTag)
    sc.setLocalProperty(DescriptionKey, description)
    try body finally {
      tags.filterNot(tagsBefore).foreach(sc.removeJobTag)
      sc.setLocalProperty(DescriptionKey, descriptionBefore)
    }
  }

  // Spark's message for a cancelled job: "Job 12 cancelled part of cancelled job group g",
  // "Job 3 cancelled because ..." (3.5); the same after "[SPARK_JOB_CANCELLED] " (4.x).
  private val CancelledJob = "^(\\[SPARK_JOB_CANCELLED\\] )?Job \\d+ cancelled".r

  /** Did `e` (or a cause of it) come from a Spark job that was cancelled? */
  def isJobCancellation(e: Throwable): Boolean = {
    var seen = Set.empty[Throwable]
    var cur = e
    var found = false
    while (cur != null && !found && !seen(cur)) {
      found = Option(cur.getMessage).exists(m => CancelledJob.findFirstIn(m).nonEmpty)
      seen += cur
      cur = cur.getCause
    }
    found
  }
}

/**
 * Sticky cancellation by job tag. [[cancel]] cancels the running jobs with a tag, and from then
 * on every job that starts with that tag is cancelled as soon as the listener bus reports its
 * start (Spark cancels only the running jobs of a tag, and cancels a group's future jobs only
 * on request in 4.x; a listener works on every Spark line). Tags are unique per fit; the last
 * 1000 cancelled ones are remembered.
 */
private[sparktpe] object CancelledTags {
  private val TagsKey = "spark.job.tags" // SparkContext.SPARK_JOB_TAGS, private in Spark

  private val reasons: JMap[String, String] = new JLinkedHashMap[String, String](16, 0.75f, false) {
    override def removeEldestEntry(e: JMap.Entry[String, String]): Boolean = size() > 1000
  }
  private var listeningOn: SparkContext = _

  /** Cancels the running jobs tagged `tag`, and every later one; `reason` shows in Spark's error. */
  def cancel(sc: SparkContext, tag: String, reason: String): Unit = {
    synchronized {
      reasons.put(tag, reason)
      if (listeningOn ne sc) { sc.addSparkListener(new Listener(sc)); listeningOn = sc }
    }
    sc.cancelJobsWithTag(tag)
  }

  private def reasonFor(tags: Seq[String]): Option[String] = synchronized {
    tags.collectFirst { case t if reasons.containsKey(t) => reasons.get(t) }
  }

  private final class Listener(sc: SparkContext) extends SparkListener {
    override def onJobStart(job: SparkListenerJobStart): Unit = {
      val tags = Option(job.properties).flatMap(p => Option(p.getProperty(TagsKey)))
        .map(_.split(",").toSeq.filter(_.nonEmpty)).getOrElse(Nil)
      reasonFor(tags).foreach(reason => sc.cancelJob(job.jobId, reason))
    }
  }
}
