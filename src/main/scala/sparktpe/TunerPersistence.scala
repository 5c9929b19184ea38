package sparktpe

import org.apache.hadoop.fs.Path
import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.evaluation.Evaluator
import org.apache.spark.ml.param._
import org.apache.spark.ml.sparktpe.SparkMLBridge
import org.apache.spark.ml.util.{MLReader, MLWritable, MLWriter}
import org.apache.spark.sql.SparkSession
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/**
 * Save and load for the tuners and their models: Spark's metadata JSON plus Spark's own stage
 * folders (`estimator/`, `evaluator/`, `bestModel/`, `subModels/fold<f>/trial<t>/`). Settings
 * are stored with each Param's own JSON encoding, so loading runs no user code. A Python
 * (Hyperopt) search space is stored as the JSON the Python side gives; see
 * `python/sparktpe/space_json.py`.
 */
private[sparktpe] object TunerPersistence {
  private val Complex = Set("estimator", "evaluator", "estimatorParamMaps", "searchSpace")

  private def num(x: Double): JValue = if (x.isNaN) JNull else JDouble(x)
  private def numFrom(v: JValue): Double = v match {
    case JDouble(x) => x
    case JInt(x) => x.toDouble
    case JDecimal(x) => x.toDouble
    case _ => Double.NaN
  }

  private def encode(p: Param[Any], v: Any): JValue = try parse(p.jsonEncode(v)) catch {
    case e: NotImplementedError => throw new UnsupportedOperationException(
      s"cannot save the value of ${p.parent}.${p.name}: its Param has no JSON encoding", e)
  }

  def settingsJson(settings: Seq[(Param[Any], Any)]): JArray = JArray(settings.toList.map { case (p, v) =>
    JObject("parent" -> JString(p.parent), "name" -> JString(p.name), "value" -> encode(p, v))
  })

  def settingsFrom(json: JValue, params: EstimatorParams): Seq[(Param[Any], Any)] = json match {
    case JArray(items) => items.map { item =>
      implicit val formats: Formats = DefaultFormats
      val p = params.lookup((item \ "parent").extract[String], (item \ "name").extract[String])
      (p, p.jsonDecode(compact(render(item \ "value"))))
    }
    case _ => Nil
  }

  def spaceJson(space: SearchSpace): JArray = {
    import SearchSpace._
    JArray(space.dimensions.toList.map { d =>
      val (kind, fields) = d match {
        case Uniform(_, lo, hi) => ("uniform", List("low" -> JDouble(lo), "high" -> JDouble(hi)))
        case LogUniform(_, lo, hi) => ("logUniform", List("low" -> JDouble(lo), "high" -> JDouble(hi)))
        case Quantized(_, lo, hi, q) =>
          ("quantized", List("low" -> JDouble(lo), "high" -> JDouble(hi), "q" -> JDouble(q)))
        case IntRange(_, lo, hi) => ("intRange", List("low" -> JInt(lo), "high" -> JInt(hi)))
        case Choice(_, values) => ("choice", List("values" -> JArray(values.toList.map(encode(d.param, _)))))
      }
      JObject(List("parent" -> JString(d.param.parent), "name" -> JString(d.param.name),
        "kind" -> JString(kind)) ++ fields)
    })
  }

  def spaceFrom(json: JValue, params: EstimatorParams): SearchSpace = json match {
    case JArray(items) => items.foldLeft(SearchSpace()) { (space, d) =>
      implicit val formats: Formats = DefaultFormats
      val p = params.lookup((d \ "parent").extract[String], (d \ "name").extract[String])
      def n(key: String) = numFrom(d \ key)
      (d \ "kind").extract[String] match {
        case "uniform" => space.uniform(p, n("low"), n("high"))
        case "logUniform" => space.logUniform(p, n("low"), n("high"))
        case "quantized" => space.quantized(p, n("low"), n("high"), n("q"))
        case "intRange" => space.intRange(p, n("low").toInt, n("high").toInt)
        case "choice" => space.choice(p, (d \ "values").children.map(v => p.jsonDecode(compact(render(v)))))
        case other => throw new IllegalArgumentException(s"unknown search space kind $other")
      }
    }
    case _ => SearchSpace()
  }

  def trialsJson(trials: Seq[TrialResult]): JArray = JArray(trials.toList.map { t =>
    JObject("trialId" -> JInt(t.trialId), "settings" -> settingsJson(t.settings),
      "vals" -> parse(t.vals), "foldMetrics" -> JArray(t.foldMetrics.toList.map(num)),
      "metric" -> num(t.metric), "stdMetric" -> num(t.stdMetric), "status" -> JString(t.status),
      "error" -> t.error.map(JString(_)).getOrElse(JNull), "fitSeconds" -> JDouble(t.fitSeconds),
      "foldStartTimes" -> JArray(t.foldStartTimes.toList.map(num)),
      "foldEndTimes" -> JArray(t.foldEndTimes.toList.map(num)))
  })

  def trialsFrom(json: JValue, params: EstimatorParams): Seq[TrialResult] = json.children.map { t =>
    implicit val formats: Formats = DefaultFormats
    TrialResult((t \ "trialId").extract[Int], settingsFrom(t \ "settings", params),
      compact(render(t \ "vals")), (t \ "foldMetrics").children.map(numFrom).toArray,
      numFrom(t \ "metric"), numFrom(t \ "stdMetric"), (t \ "status").extract[String],
      (t \ "error").extractOpt[String], numFrom(t \ "fitSeconds"),
      // Absent in trials saved before fold timestamps were recorded.
      (t \ "foldStartTimes").children.map(numFrom).toArray,
      (t \ "foldEndTimes").children.map(numFrom).toArray)
  }

  private def writable(what: String, stage: Any): MLWritable = stage match {
    case w: MLWritable => w
    case other => throw new UnsupportedOperationException(
      s"cannot save the $what ${other.getClass.getName}: it is not MLWritable")
  }

  /** Writes a tuner's (or tuner model's) Params, estimator and evaluator under `path`. */
  def saveTuner(instance: TuningParams, path: String, spark: SparkSession, extra: List[JField]): Unit = {
    writable("estimator", instance.getEstimator).save(new Path(path, "estimator").toString)
    writable("evaluator", instance.getEvaluator).save(new Path(path, "evaluator").toString)
    val simple = instance.params.filter(p => instance.isSet(p) && !Complex(p.name)).map { p =>
      p.name -> parse(p.asInstanceOf[Param[Any]].jsonEncode(instance.get(p).get))
    }
    val grid = instance.get(instance.estimatorParamMaps).map(maps => "estimatorParamMaps" ->
      JArray(maps.toList.map(m => settingsJson(m.toSeq.map(pp => (pp.param.asInstanceOf[Param[Any]], pp.value))))))
    val space = instance.get(instance.searchSpace).map(s => "searchSpace" -> spaceJson(s))
    val python = Option(instance.getPythonSearchSpaceJson).map(j => "pythonSearchSpace" -> parse(j))
    SparkMLBridge.saveMetadata(instance, path, spark, JObject(extra ++ python.toList),
      JObject((simple ++ grid ++ space).toList))
  }

  /**
   * Reads what [[saveTuner]] wrote. `make` builds the instance from the saved uid, the whole
   * metadata JSON (a model's trials are there) and the loaded estimator.
   */
  def loadTuner[T <: TuningParams](path: String, spark: SparkSession, className: String,
                                   make: (String, JValue, Estimator[_]) => T): T = {
    val (uid, params, metadata) = SparkMLBridge.loadMetadata(path, spark, className)
    val est = SparkMLBridge.loadStage[Estimator[_]](new Path(path, "estimator").toString, spark)
    val eval = SparkMLBridge.loadStage[Evaluator](new Path(path, "evaluator").toString, spark)
    val instance = make(uid, metadata, est)
    instance.set(instance.estimator, est).set(instance.evaluator, eval)
    val known = new EstimatorParams(est)
    params match {
      case JObject(fields) => fields.foreach {
        case ("estimatorParamMaps", grid) =>
          instance.set(instance.estimatorParamMaps,
            grid.children.map(m => TrialResult.strictParamMap(settingsFrom(m, known))).toArray)
        case ("searchSpace", space) => instance.set(instance.searchSpace, spaceFrom(space, known))
        case (name, value) if instance.hasParam(name) =>
          val p = instance.getParam(name).asInstanceOf[Param[Any]]
          instance.set(p, p.jsonDecode(compact(render(value))))
        case _ =>
      }
      case _ =>
    }
    metadata \ "pythonSearchSpace" match {
      case JNothing | JNull =>
      case space => instance.setPythonSearchSpaceJson(compact(render(space)))
    }
    instance
  }
}

/** Saves an estimator: Params, estimator and evaluator (no trials). */
private[sparktpe] final class TunerWriter(instance: TuningParams) extends MLWriter {
  override protected def saveImpl(path: String): Unit =
    TunerPersistence.saveTuner(instance, path, sparkSession, Nil)
}

/** Loads an estimator saved by [[TunerWriter]]. */
private[sparktpe] final class TunerReader[T <: TuningParams](className: String, make: String => T)
  extends MLReader[T] {
  override def load(path: String): T =
    TunerPersistence.loadTuner(path, sparkSession, className, (uid, _, _) => make(uid))
}

/**
 * Saves a tuner model: as [[TunerWriter]], plus `bestModel/`, the trials and the stop reason,
 * and with option `persistSubModels` = "true" (as Spark's tuners) every sub-model.
 */
private[sparktpe] final class TunedModelWriter(
    instance: TuningParams,
    bestModel: Model[_],
    trials: Seq[TrialResult],
    stopReason: String,
    subModels: Option[Array[Array[Model[_]]]]) extends MLWriter {

  override protected def saveImpl(path: String): Unit = {
    val persistSubModels = optionMap.get("persistsubmodels").exists(_.toBoolean)
    if (persistSubModels && subModels.isEmpty) throw new IllegalArgumentException(
      "persistSubModels is true but the model has no subModels: fit with collectSubModels = true")
    TunerPersistence.saveTuner(instance, path, sparkSession, List(
      "trials" -> TunerPersistence.trialsJson(trials), "stopReason" -> JString(stopReason),
      "persistSubModels" -> JBool(persistSubModels)))
    bestModel.asInstanceOf[MLWritable].save(new Path(path, "bestModel").toString)
    if (persistSubModels) for ((fold, f) <- subModels.get.zipWithIndex; (m, t) <- fold.zipWithIndex if m != null) {
      m.asInstanceOf[MLWritable].save(new Path(path, s"subModels/fold$f/trial$t").toString)
    }
  }
}

/** What a saved tuner model holds beyond its Params. */
private[sparktpe] final case class SavedModelParts(
    bestModel: Model[_], trials: Seq[TrialResult], stopReason: String,
    subModels: Option[Array[Array[Model[_]]]])

/** Loads what [[TunedModelWriter]] wrote; `make` builds the model from its uid and parts. */
private[sparktpe] final class TunedModelReader[T <: TuningParams](
    className: String, make: (String, SavedModelParts) => T) extends MLReader[T] {

  override def load(path: String): T = TunerPersistence.loadTuner[T](path, sparkSession, className,
    (uid, metadata, est) => {
      implicit val formats: Formats = DefaultFormats
      val trials = TunerPersistence.trialsFrom(metadata \ "trials", new EstimatorParams(est))
      val bestModel = SparkMLBridge.loadStage[Model[_]](new Path(path, "bestModel").toString, sparkSession)
      val persisted = (metadata \ "persistSubModels").extractOpt[Boolean].contains(true)
      make(uid, SavedModelParts(bestModel, trials, (metadata \ "stopReason").extract[String],
        if (persisted) Some(loadSubModels(path, trials)) else None))
    })

  /** `subModels/fold<f>/trial<t>` for every fold folder there is; null where a trial has none. */
  private def loadSubModels(path: String, trials: Seq[TrialResult]): Array[Array[Model[_]]] = {
    val root = new Path(path, "subModels")
    val fs = root.getFileSystem(sparkSession.sparkContext.hadoopConfiguration)
    Iterator.from(0).map(f => new Path(root, s"fold$f")).takeWhile(fs.exists).map { fold =>
      trials.map { t =>
        val dir = new Path(fold, s"trial${t.trialId}")
        if (fs.exists(dir)) SparkMLBridge.loadStage[Model[_]](dir.toString, sparkSession) else null
      }.toArray[Model[_]]
    }.toArray
  }
}
