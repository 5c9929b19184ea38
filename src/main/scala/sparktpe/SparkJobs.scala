package sparktpe

import org.apache.spark.SparkContext

/** Tags the Spark jobs a block starts, so they show up readably in the Spark UI and can be cancelled. */
private[sparktpe] object SparkJobs {
  private val Keys = Seq("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")

  /** Runs `body` with job group `group` and `description`, restoring the thread's own after. */
  def withJobGroup[T](sc: SparkContext, group: String, description: String)(body: => T): T = {
    val saved = Keys.map(k => k -> sc.getLocalProperty(k))
    sc.setJobGroup(group, description, interruptOnCancel = false)
    try body finally saved.foreach { case (k, v) => sc.setLocalProperty(k, v) }
  }
}
