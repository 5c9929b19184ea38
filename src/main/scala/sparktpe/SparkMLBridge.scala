// The one place sparktpe reaches Spark's private[ml] persistence helpers, so that saved tuners
// use Spark's own metadata format and stage folders.
package org.apache.spark.ml.sparktpe

import scala.collection.mutable

import org.apache.spark.ml.param.{Param, ParamMap, Params}
import org.apache.spark.ml.util.{DefaultParamsReader, DefaultParamsWriter}
import org.apache.spark.sql.SparkSession
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
}
