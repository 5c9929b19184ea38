package sparktpe

import org.apache.spark.sql.{DataFrame, SparkSession}

/**
 * A search that could not finish: the proposer failed, the search was cancelled or interrupted,
 * a fit died of a fatal JVM error, the final refit failed, or no trial succeeded. `trials` holds
 * every trial in trial order, finished ones with their metrics, so no finished work is lost:
 * `setInitialTrials(e.trialsJson)` continues the search (cancelled trials run again).
 */
class SearchException(message: String, cause: Throwable, val trials: Seq[TrialResult])
  extends RuntimeException(message, cause) {

  /** Trials that finished with a metric. */
  def finishedTrials: Seq[TrialResult] = trials.filter(_.isOk)

  /** The trials as JSON in the `initialTrials` format (a tuned model's `trialsJson`). */
  def trialsJson: String = {
    import org.json4s.jackson.JsonMethods.{compact, render}
    compact(render(TunerPersistence.trialsJson(trials)))
  }

  /** The trials as a DataFrame like a tuned model's `trials`, in the active SparkSession. */
  def trialsTable: DataFrame = TrialsTable.toDataFrame(SparkSession.active, trials)
}
