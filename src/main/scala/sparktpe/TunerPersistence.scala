package sparktpe

import scala.collection.mutable

import org.apache.hadoop.fs.Path
import org.apache.spark.ml.{Estimator, Model, PipelineStage}
import org.apache.spark.ml.evaluation.Evaluator
import org.apache.spark.ml.param._
import org.apache.spark.ml.sparktpe.SparkMLBridge
import org.apache.spark.ml.util.{MLReader, MLWritable, MLWriter}
import org.apache.spark.sql.SparkSession
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/**
 * Save and load for the tuners and their models, in Spark's own format: `metadata/` (Spark's
 * metadata JSON, written by `DefaultParamsWriter`) plus Spark's own stage folders. Loading runs
 * no user code: settings are stored with each Param's own JSON encoding, stages with their own
 * writers. The layout under the saved path:
 *
 *  - `metadata/`: `class`, `uid`, `sparkVersion`, `paramMap` (the tuner's simple Params with
 *    their JSON, `searchSpace` as below, and in Spark's `estimatorParamMaps` slot a sign that
 *    makes PySpark's tuning loaders say how to load this folder), `estimatorParamMaps` (the grid,
 *    as below; earlier saves kept it in `paramMap`, and still load), and for models `trials`
 *    (the [[trialsJson]] format), `stopReason` and `persistSubModels`; `pythonSearchSpace` (the
 *    Python wrapper's Hyperopt space JSON, kept opaque, see `python/sparktpe/space_json.py`) and
 *    `candidateStages` (uids, see `SearchEstimator.setCandidateStages`) when there are any.
 *  - `estimator/`, `evaluator/`: the stages, by their own writers.
 *  - `stages/<uid>/`: one folder per distinct stage used as a setting's value anywhere (a grid's
 *    `ovr.classifier -> lr`, a choice between `pipeline.stages` arrays, a trial's setting, a
 *    candidate stage), named by the stage's uid and written by its own writer. Spark's tuners
 *    write such values as `epm_<name><n>` folders; one folder per uid instead keeps a stage
 *    that several settings share written once and lets trials and the space refer to it too.
 *  - `bestModel/` (models) and, with `persistSubModels`, `subModels/fold<f>/trial<t>/`.
 *
 * A setting is `{"parent": <stage uid>, "name": <Param name>, "value": v}`, where `v` is the
 * Param's own JSON (`Param.jsonEncode`), or `{"stageUid": uid}` for a stage value, or
 * `{"stageUids": [uid, ...]}` for an array of stages (a Pipeline's `stages`). `estimatorParamMaps`
 * is an array of arrays of settings. A search space is an array of
 * `{"parent", "name", "kind", ...}` with kind `uniform`/`logUniform` (`low`, `high`),
 * `quantized` (`low`, `high`, `q`), `intRange` (`low`, `high`) or `choice` (`values`, encoded
 * as setting values). Loading resolves Params against every stage nested in the estimator and
 * every stage of `stages/`, so a grid may set `lr.maxIter` where `lr` is only a value of
 * `ovr.classifier`. `trialsJson` (for `initialTrials`) uses the same settings but writes no
 * folders: its stage references resolve against the estimator's stages, the grid's and the
 * space's stage values and the candidate stages of the tuner it is given to.
 */
private[sparktpe] object TunerPersistence {
  private val Complex = Set("estimator", "evaluator", "estimatorParamMaps", "searchSpace")
  private val StagesDir = "stages"

  private def num(x: Double): JValue = if (x.isNaN) JNull else JDouble(x)
  private def numFrom(v: JValue): Double = v match {
    case JDouble(x) => x
    case JInt(x) => x.toDouble
    case JDecimal(x) => x.toDouble
    case _ => Double.NaN
  }

  /** A setting's value as JSON: a stage by uid, an array of stages by uids, else the Param's JSON. */
  def encodeValue(p: Param[Any], v: Any): JValue = v match {
    case stage: Params => JObject("stageUid" -> JString(stage.uid))
    case xs: Array[_] if xs.nonEmpty && xs.forall(_.isInstanceOf[Params]) =>
      JObject("stageUids" -> JArray(xs.toList.map(x => JString(x.asInstanceOf[Params].uid))))
    case _ => try parse(p.jsonEncode(v)) catch {
      case e: NotImplementedError => throw new UnsupportedOperationException(
        s"cannot save the value of ${p.parent}.${p.name}: its Param has no JSON encoding", e)
    }
  }

  /** Reads what [[encodeValue]] wrote; stage uids resolve through `params`. */
  def decodeValue(p: Param[Any], value: JValue, params: EstimatorParams): Any = value match {
    case JObject(List(("stageUids", JArray(uids)))) =>
      uids.map {
        case JString(u) => params.stage(u)
        case other => throw new IllegalArgumentException(
          s"${p.parent}.${p.name}: stage uids must be strings, got ${compact(render(other))}")
      }.toArray[PipelineStage]
    case JObject(List(("stageUid", JString(u)))) => params.stage(u)
    case _ => p.jsonDecode(compact(render(value)))
  }

  def settingsJson(settings: Seq[(Param[Any], Any)]): JArray = JArray(settings.toList.map { case (p, v) =>
    JObject("parent" -> JString(p.parent), "name" -> JString(p.name), "value" -> encodeValue(p, v))
  })

  def settingsFrom(json: JValue, params: EstimatorParams): Seq[(Param[Any], Any)] = json match {
    case JArray(items) => items.map { item =>
      implicit val formats: Formats = DefaultFormats
      val p = params.lookup((item \ "parent").extract[String], (item \ "name").extract[String])
      (p, decodeValue(p, item \ "value", params))
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
        case Choice(_, values) => ("choice", List("values" -> JArray(values.toList.map(encodeValue(d.param, _)))))
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
        case "choice" => space.choice(p, (d \ "values").children.map(v => decodeValue(p, v, params)))
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

  /** Each distinct stage (by uid), in first-use order. */
  private def distinctStages(stages: Seq[Params]): Seq[Params] = {
    val byUid = mutable.LinkedHashMap.empty[String, Params]
    stages.foreach(s => byUid.getOrElseUpdate(s.uid, s))
    byUid.values.toSeq
  }

  /**
   * Writes a tuner's (or tuner model's) Params, estimator, evaluator and every stage a setting
   * uses as its value (of the grid, the space, `trials` and the candidate stages) under `path`.
   */
  def saveTuner(instance: TuningParams, path: String, spark: SparkSession, extra: List[JField],
                trials: Seq[TrialResult] = Nil): Unit = {
    writable("estimator", instance.getEstimator).save(new Path(path, "estimator").toString)
    writable("evaluator", instance.getEvaluator).save(new Path(path, "evaluator").toString)
    val known = instance.knownParams(trials.flatMap(_.settings))
    val gridSettings = instance.get(instance.estimatorParamMaps).map(_.toSeq.map(m => TrialResult.entries(m, known.allParams)))
    val spaceSettings = instance.get(instance.searchSpace).toSeq.flatMap(_.dimensions).flatMap {
      case SearchSpace.Choice(p, values) => values.map(v => (p.asInstanceOf[Param[Any]], v))
      case _ => Nil
    }
    val candidates = instance.candidateStageList
    val stages = distinctStages(EstimatorParams.stagesInSettings(
      gridSettings.toSeq.flatten.flatten ++ spaceSettings ++ trials.flatMap(_.settings)) ++ candidates)
    stages.foreach(s => writable(s"stage ${s.uid} (a setting's value)", s)
      .save(new Path(new Path(path, StagesDir), s.uid).toString))
    val simple = instance.params.filter(p => instance.isSet(p) && !Complex(p.name)).map { p =>
      p.name -> parse(p.asInstanceOf[Param[Any]].jsonEncode(instance.get(p).get))
    }
    val grid = gridSettings.map(maps => GridKey -> JArray(maps.toList.map(settingsJson)))
    val space = instance.get(instance.searchSpace).map(s => "searchSpace" -> spaceJson(s))
    val python = Option(instance.getPythonSearchSpaceJson).map(j => "pythonSearchSpace" -> parse(j))
    val candidateUids = if (candidates.isEmpty) None
      else Some("candidateStages" -> JArray(candidates.toList.map(c => JString(c.uid))))
    SparkMLBridge.saveMetadata(instance, path, spark,
      JObject(extra ++ grid.toList ++ python.toList ++ candidateUids.toList),
      JObject((simple ++ space :+ sparkLoaderSign(instance)).toList))
  }

  // Where the grid is saved: at the top of the metadata, not in `paramMap`, where Spark's tuners
  // keep theirs (our earlier saves kept it there too; both load).
  private val GridKey = "estimatorParamMaps"
  private val SignPrefix = "saved by sparktpe"

  private def isLoadingSign(maps: List[JValue]): Boolean = maps match {
    case List(JArray(List(setting))) => (setting \ "parent") match {
      case JString(p) => p.startsWith(SignPrefix)
      case _ => false
    }
    case _ => false
  }

  /**
   * What `paramMap.estimatorParamMaps` holds: one setting whose stage uid is a sentence saying
   * how to load this folder. PySpark's `CrossValidatorModel.load` and friends read that slot
   * before anything else of ours and fail with a `KeyError` quoting the uid, so a user who loads
   * our model with Spark's class reads how to load it. (Scala Spark's loaders check the saved
   * class name first and fail naming our class.)
   */
  private def sparkLoaderSign(instance: TuningParams): JField = {
    val how = s"$SignPrefix: load it with ${instance.getClass.getName}.load(path), " +
      "not with Spark's tuning classes"
    "estimatorParamMaps" -> JArray(List(JArray(List(JObject("parent" -> JString(how),
      "name" -> JString("estimatorParamMaps"), "value" -> JString("null"), "isJson" -> JString("true"))))))
  }

  /** The stages of `path/stages/`, one per folder (none for tuners saved before it existed). */
  private def loadValueStages(path: String, spark: SparkSession): Seq[Params] = {
    val root = new Path(path, StagesDir)
    val fs = root.getFileSystem(spark.sparkContext.hadoopConfiguration)
    if (!fs.exists(root)) Nil
    else fs.listStatus(root).toSeq.filter(_.isDirectory).sortBy(_.getPath.getName)
      .map(dir => SparkMLBridge.loadStage[Params](dir.getPath.toString, spark))
  }

  /**
   * Reads what [[saveTuner]] wrote. `make` builds the instance from the saved uid, the whole
   * metadata JSON (a model's trials are there) and the Params the settings may touch.
   */
  def loadTuner[T <: TuningParams](path: String, spark: SparkSession, className: String,
                                   make: (String, JValue, EstimatorParams) => T): T = {
    val (uid, params, metadata) = SparkMLBridge.loadMetadata(path, spark, className)
    val est = SparkMLBridge.loadStage[Estimator[_]](new Path(path, "estimator").toString, spark)
    val eval = SparkMLBridge.loadStage[Evaluator](new Path(path, "evaluator").toString, spark)
    val known = new EstimatorParams(est, loadValueStages(path, spark))
    val instance = make(uid, metadata, known)
    instance.set(instance.estimator, est).set(instance.evaluator, eval)
    params match {
      case JObject(fields) => fields.foreach {
        case ("estimatorParamMaps", _) => // Spark's slot holds the loading sign; the grid is below
        case ("searchSpace", space) => instance.set(instance.searchSpace, spaceFrom(space, known))
        case (name, value) if instance.hasParam(name) =>
          val p = instance.getParam(name).asInstanceOf[Param[Any]]
          instance.set(p, p.jsonDecode(compact(render(value))))
        case _ =>
      }
      case _ =>
    }
    // Unvalidated: a model's maps record what each trial ran with, invalid values too. Saves
    // older than the loading sign kept the grid in `paramMap`, as Spark's tuners do.
    val grid = (metadata \ GridKey, params \ "estimatorParamMaps") match {
      case (JArray(maps), _) => Some(maps)
      case (_, JArray(maps)) if !isLoadingSign(maps) => Some(maps)
      case _ => None
    }
    grid.foreach(maps => instance.set(instance.estimatorParamMaps,
      maps.map(m => SparkMLBridge.unvalidatedParamMap(settingsFrom(m, known))).toArray))
    metadata \ "pythonSearchSpace" match {
      case JNothing | JNull =>
      case space => instance.setPythonSearchSpaceJson(compact(render(space)))
    }
    (instance, metadata \ "candidateStages") match {
      case (searcher: SearchEstimator, JArray(uids)) =>
        searcher.setCandidateStages(uids.collect { case JString(u) => known.stage(u) }.toArray)
      case _ =>
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
    TunerPersistence.loadTuner(path, sparkSession, className, (uid, _: JValue, _: EstimatorParams) => make(uid))
}

/**
 * Saves a tuner model: as [[TunerWriter]], plus `bestModel/`, the trials and the stop reason,
 * and every sub-model under `subModels/fold<f>/trial<t>/` when option `persistSubModels` is
 * "true". As Spark's `CrossValidatorModelWriter`: the option defaults to "true" when the model
 * has sub-models and "false" otherwise; any other value than "true"/"false" (any case), or
 * "true" on a model without sub-models, throws IllegalArgumentException before anything is
 * written.
 */
private[sparktpe] final class TunedModelWriter(
    instance: TuningParams,
    bestModel: Model[_],
    trials: Seq[TrialResult],
    stopReason: String,
    subModels: Option[Array[Array[Model[_]]]]) extends MLWriter {

  override protected def saveImpl(path: String): Unit = {
    val option = optionMap.getOrElse("persistsubmodels", if (subModels.isDefined) "true" else "false")
    // Spark's own wording for both errors, so a migrating user meets the messages they know.
    require(Seq("true", "false").contains(option.toLowerCase(java.util.Locale.ROOT)),
      s"persistSubModels option value $option is invalid, the possible values are " +
        "\"true\" or \"false\"")
    val persistSubModels = option.toBoolean
    require(!persistSubModels || subModels.isDefined, "When persisting tuning models, you can " +
      "only set persistSubModels to true if the tuning was done with collectSubModels set to " +
      "true. To save the sub-models, try rerunning fitting with collectSubModels set to true.")
    TunerPersistence.saveTuner(instance, path, sparkSession, List(
      "trials" -> TunerPersistence.trialsJson(trials), "stopReason" -> JString(stopReason),
      "persistSubModels" -> JBool(persistSubModels)), trials)
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
    (uid, metadata, known) => {
      implicit val formats: Formats = DefaultFormats
      val trials = TunerPersistence.trialsFrom(metadata \ "trials", known)
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
