package sparktpe

import org.apache.spark.mllib.util.MLUtils
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.functions.col
import org.apache.spark.sql.types.{ByteType, IntegerType, LongType, ShortType}

/** (training, validation) pairs, one per fold, exactly as Spark's `CrossValidator` forms them. */
private[sparktpe] object Folds {

  /**
   * With `foldCol` empty, rows are assigned by `MLUtils.kFold(seed)`, Spark's own sampler, over the
   * same partitions, so membership matches `CrossValidator` row for row. With `foldCol` set, the
   * column's value (an integer in [0, numFolds)) is the fold, and the column is dropped.
   *
   * The column is checked first, in one Spark job, with Spark's messages: a fold number out of
   * range ("Fold number must be in range [0, 3), but got 5.", as Spark's `MLUtils.kFold`), a
   * training or validation fold with no rows ("The validation data at fold 2 is empty.", as
   * PySpark's `CrossValidator`; Spark's Scala one would score the empty fold), and, our own
   * rule, a null fold number. So a bad column fails before any trial is fitted.
   *
   * @throws IllegalArgumentException for a bad fold column
   */
  def kFold(df: DataFrame, numFolds: Int, seed: Long, foldCol: String): Array[(DataFrame, DataFrame)] = {
    val spark = df.sparkSession
    if (foldCol.isEmpty) {
      MLUtils.kFold(df.rdd, numFolds, seed).map { case (train, valid) =>
        (spark.createDataFrame(train, df.schema), spark.createDataFrame(valid, df.schema))
      }
    } else {
      checkFoldNumbers(df, numFolds, foldCol)
      val fold = col(foldCol)
      Array.tabulate(numFolds) { i =>
        (df.filter(fold =!= i).drop(foldCol), df.filter(fold === i).drop(foldCol))
      }
    }
  }

  /** Rows per fold number, in one job; throws for a number out of range, a null or an empty fold. */
  private def checkFoldNumbers(df: DataFrame, numFolds: Int, foldCol: String): Unit = {
    val counts = df.groupBy(col(foldCol)).count().collect()
      .map(r => (Option(r.get(0)).map(_.asInstanceOf[Number].longValue), r.getLong(1))).toMap
    def fail(why: String) = throw new IllegalArgumentException(s"foldCol = $foldCol: $why")
    if (counts.contains(None)) {
      fail(s"${counts(None)} row(s) have a null fold number; fold numbers must be in [0, $numFolds)")
    }
    val byFold = counts.collect { case (Some(f), n) => f -> n }
    byFold.keys.filter(f => f < 0 || f >= numFolds).toSeq.sorted.headOption.foreach { f =>
      fail(s"Fold number must be in range [0, $numFolds), but got $f.")
    }
    val total = byFold.values.sum
    (0 until numFolds).foreach { i =>
      val inFold = byFold.getOrElse(i.toLong, 0L)
      if (inFold == total) fail(s"The training data at fold $i is empty.")
      if (inFold == 0) fail(s"The validation data at fold $i is empty.")
    }
  }

  /**
   * Checks before any Spark job that `foldCol` exists and holds integers: int, bigint, smallint
   * or tinyint. PySpark's `CrossValidator` takes any integer type (and a DataFrame built from
   * plain Python ints has bigint columns); Spark's Scala one requires int. We follow PySpark.
   */
  def checkFoldCol(df: DataFrame, foldCol: String): Unit = if (foldCol.nonEmpty) {
    val field = df.schema.fields.find(_.name == foldCol).getOrElse(throw new IllegalArgumentException(
      s"foldCol = $foldCol is not allowed: no such column; columns are ${df.columns.mkString(", ")}"))
    field.dataType match {
      case ByteType | ShortType | IntegerType | LongType =>
      case other => throw new IllegalArgumentException(s"foldCol = $foldCol is not allowed: its " +
        s"type is ${other.simpleString}, must be an integer type (int, bigint, smallint or tinyint)")
    }
  }
}
