package sparktpe

import org.apache.spark.mllib.util.MLUtils
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.functions.col
import org.apache.spark.sql.types.IntegerType

/** (training, validation) pairs, one per fold, exactly as Spark's `CrossValidator` forms them. */
private[sparktpe] object Folds {

  /**
   * With `foldCol` empty, rows are assigned by `MLUtils.kFold(seed)`, Spark's own sampler, over the
   * same partitions, so membership matches `CrossValidator` row for row. With `foldCol` set, the
   * column's value (an integer in [0, numFolds)) is the fold, and the column is dropped.
   */
  def kFold(df: DataFrame, numFolds: Int, seed: Long, foldCol: String): Array[(DataFrame, DataFrame)] = {
    val spark = df.sparkSession
    if (foldCol.isEmpty) {
      MLUtils.kFold(df.rdd, numFolds, seed).map { case (train, valid) =>
        (spark.createDataFrame(train, df.schema), spark.createDataFrame(valid, df.schema))
      }
    } else {
      val fold = col(foldCol)
      val outside = df.filter(fold.isNull || fold < 0 || fold >= numFolds).select(foldCol).limit(1).collect()
      outside.headOption.foreach { row =>
        throw new IllegalArgumentException(
          s"foldCol $foldCol has value ${row.get(0)}: fold numbers must be in [0, $numFolds)")
      }
      Array.tabulate(numFolds) { i =>
        (df.filter(fold =!= i).drop(foldCol), df.filter(fold === i).drop(foldCol))
      }
    }
  }

  /** Checks before any Spark job that `foldCol` exists and holds integers. */
  def checkFoldCol(df: DataFrame, foldCol: String): Unit = if (foldCol.nonEmpty) {
    val field = df.schema.fields.find(_.name == foldCol).getOrElse(throw new IllegalArgumentException(
      s"foldCol = $foldCol is not allowed: no such column; columns are ${df.columns.mkString(", ")}"))
    if (field.dataType != IntegerType) throw new IllegalArgumentException(
      s"foldCol = $foldCol is not allowed: its type is ${field.dataType.simpleString}, must be int")
  }
}
