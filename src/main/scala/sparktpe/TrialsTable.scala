package sparktpe

import scala.jdk.CollectionConverters._

import org.apache.spark.ml.param._
import org.apache.spark.sql.{DataFrame, Row, SparkSession}
import org.apache.spark.sql.types._

/** Turns trial results into the `trials` DataFrame: one row per trial, one column per tuned Param. */
private[sparktpe] object TrialsTable {

  private def columnType(p: Param[_]): DataType = p match {
    case _: IntParam | _: LongParam => LongType
    case _: FloatParam | _: DoubleParam => DoubleType
    case _: BooleanParam => BooleanType
    case _ => StringType
  }

  private def cell(p: Param[Any], v: Any): Any = (p: Param[_], v) match {
    case (_: IntParam, x: Int) => x.toLong
    case (_: LongParam, x: Long) => x
    case (_: FloatParam, x: Float) => x.toDouble
    case (_: DoubleParam, x: Double) => x
    case (_: BooleanParam, x: Boolean) => x
    case (_, s: String) => s
    case _ => TrialResult.show(p, v)
  }

  /** Fold timestamps, or NaN per fold for trials saved before they were recorded. */
  private def orUnknown(times: Array[Double], numFolds: Int): Seq[Double] =
    if (times.isEmpty) Seq.fill(numFolds)(Double.NaN) else times.toSeq

  def toDataFrame(spark: SparkSession, trials: Seq[TrialResult]): DataFrame = {
    // A ParamMap's order follows hashes of random uids: sort, so the columns never shuffle.
    val params = trials.flatMap(_.settings.map(_._1)).distinct.sortBy(p => (p.parent, p.name))
    val clashing = params.groupBy(_.name).filter(_._2.size > 1).keySet
    val paramFields = params.map { p =>
      val name = if (clashing(p.name)) s"${p.parent}_${p.name}" else p.name
      StructField(name, columnType(p), nullable = true)
    }
    val schema = StructType(StructField("trialId", IntegerType, nullable = false) +: paramFields ++: Seq(
      StructField("foldMetrics", ArrayType(DoubleType, containsNull = false)),
      StructField("metric", DoubleType),
      StructField("stdMetric", DoubleType),
      StructField("status", StringType),
      StructField("error", StringType),
      StructField("fitSeconds", DoubleType),
      StructField("foldStartTimes", ArrayType(DoubleType, containsNull = false)),
      StructField("foldEndTimes", ArrayType(DoubleType, containsNull = false))))
    val rows = trials.map { t =>
      val values = t.settings.toMap
      Row.fromSeq(Seq(t.trialId) ++ params.map(p => values.get(p).map(cell(p, _)).orNull) ++
        Seq(t.foldMetrics.toSeq, t.metric, t.stdMetric, t.status, t.error.orNull, t.fitSeconds,
          orUnknown(t.foldStartTimes, t.foldMetrics.length), orUnknown(t.foldEndTimes, t.foldMetrics.length)))
    }
    spark.createDataFrame(rows.asJava, schema) // a local relation: no Spark job
  }
}
