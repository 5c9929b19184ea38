// The one place sparktpe reaches Spark's private helpers: its persistence helpers (so saved tuners
// use Spark's own metadata format and stage folders), PipelineModel's constructor, and the cache
// manager (to name what the search caches).
package org.apache.spark.ml.sparktpe

import scala.collection.mutable

import org.apache.spark.ml.{PipelineModel, Transformer}
import org.apache.spark.ml.param.{Param, ParamMap, Params}
import org.apache.spark.ml.util.{DefaultParamsReader, DefaultParamsWriter}
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.storage.StorageLevel
import org.json4s.{JObject, JValue}

object SparkMLBridge {

  /** Writes `path/metadata` as Spark's DefaultParamsWriter does, with `params` as given. */
  def saveMetadata(instance: Params, path: String, spark: SparkSession, extra: JObject,
                   params: JValue): Unit =
    DefaultParamsWriter.saveMetadata(instance, path, spark, Some(extra), Some(params))

  /** The saved uid, `params` object and whole metadata of `path`; checks the class name. */
  def loadMetadata(path: String, spark: SparkSession, className: String): (String, JValue, JValue) = {
    val m = DefaultParamsReader.loadMetadata(path, spark, className)
    (m.uid, m.params, m.metadata)
  }

  /** Loads any saved Spark ML stage (its class is read from its metadata). */
  def loadStage[T](path: String, spark: SparkSession): T =
    DefaultParamsReader.loadParamsInstance[T](path, spark)

  /**
   * A ParamMap of `pairs` without validating the values (ParamMap's public builders validate
   * each one), so a model can record a trial that ran with an invalid value and failed on it.
   */
  def unvalidatedParamMap(pairs: Seq[(Param[Any], Any)]): ParamMap =
    new ParamMap(mutable.Map(pairs: _*))

  /** A PipelineModel of `stages` with `uid`, as `Pipeline.fit` builds it (its constructor is private[ml]). */
  def pipelineModel(uid: String, stages: Array[Transformer]): PipelineModel = new PipelineModel(uid, stages)

  /**
   * Caches `df` at `level` as `Dataset.persist` does, under `name`: its RDD is then called
   * `In-memory table <name>` in `SparkContext.getRDDStorageInfo` and the Spark UI. Released by
   * `df.unpersist()` as usual. Classic Spark only (the JVM tuner needs it anyway).
   */
  def cacheNamed(df: DataFrame, name: String, level: StorageLevel): Unit = {
    val ds = df.asInstanceOf[org.apache.spark.sql.classic.Dataset[_]]
    ds.sparkSession.sharedState.cacheManager.cacheQuery(ds, Some(name), level)
  }
}
