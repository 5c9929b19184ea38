package sparktpe

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.ml.{Estimator, Model, Pipeline, PipelineModel, PipelineStage, Transformer}
import org.apache.spark.ml.param.{ParamMap, Params}
import org.apache.spark.ml.sparktpe.SparkMLBridge
import org.apache.spark.sql.DataFrame
import org.apache.spark.storage.StorageLevel

/**
 * What one work item fits: `estimator` on `train`, scored on `valid` (both cached for the
 * search); `whole` turns the fitted model into a model of the whole estimator (for subModels);
 * `done` is called when the work item has finished with them.
 */
private[sparktpe] final case class FoldInput(
    estimator: Estimator[_], train: DataFrame, valid: DataFrame, whole: Model[_] => Model[_],
    done: () => Unit = () => ())

/**
 * Stage reuse: the folds of one search, and what the search fits on them once.
 *
 * When the estimator is a `Pipeline` whose first `prefixLength` stages no setting of the search
 * touches (see [[StageReuse.untouchedPrefix]]), those stages are fitted once per fold, on the
 * fold's training rows, the first time a work item of that fold runs (one fit per fold, however
 * many threads want it at once; its Spark jobs are that work item's, so they carry the trials'
 * job tag). Their output on the fold's training and validation rows is cached (MEMORY_AND_DISK)
 * for the rest of the search, and each trial fits only the remaining stages on it. With no such
 * prefix, each fold's (training, validation) rows are cached instead, so no trial draws them
 * from the input again.
 *
 * With `keyed` (the first touched stage, right after the prefix, has stages after it, say
 * `PCA.k` before a tuned regression), that stage's output is cached too, per fold and per
 * setting of that stage's Params, so trials that share its setting fit it once: at most
 * [[StageReuse.KeyedOutputsPerFold]] settings per fold are kept, the least recently used one
 * dropped (unpersisted) first; one in use by a running work item is never dropped, so while
 * more than that many run on one fold at once, as many are kept as run.
 *
 * Memory: the input (cached by the search) plus, per fold, its training and validation rows or
 * the prefix's output on them: about `numFolds` times the input (one time for a
 * train/validation split), times the prefix output's size over the input's; with `keyed`, up to
 * [[StageReuse.KeyedOutputsPerFold]] times as much again. Every cached DataFrame is named
 * `sparktpe <uid> ...` (its RDD shows as `In-memory table sparktpe <uid> ...` in
 * `SparkContext.getRDDStorageInfo` and the Spark UI). [[release]] unpersists them all; after
 * it, nothing more is cached (a late work item fails instead).
 *
 * A setting that does touch the prefix (an external proposer going beyond the Params it
 * declared) is fitted the plain way, whole estimator on the fold's rows, so results never
 * depend on the declaration being right.
 *
 * @param splits       (training, validation) per fold, uncached
 * @param estimator    the estimator being tuned
 * @param prefixLength leading Pipeline stages to fit once per fold (0: none)
 * @param keyed        also cache the output of stage `prefixLength` per setting
 * @param ownerUid     the tuner's uid, part of the cached DataFrames' names
 */
private[sparktpe] final class StageReuse(
    splits: Array[(DataFrame, DataFrame)],
    estimator: Estimator[_],
    prefixLength: Int,
    keyed: Boolean,
    ownerUid: String) {
  import StageReuse.{Fitted, KeyedOutputsPerFold}

  private val pipeline: Option[Pipeline] = estimator match {
    case p: Pipeline if prefixLength > 0 || keyed => Some(p)
    case _ => None
  }
  private val stages: Array[PipelineStage] = pipeline.map(_.getStages).getOrElse(Array.empty)
  // uids a setting must not touch for the prefix's output to be reused: the Pipeline's own
  // and those of every prefix stage and of the stages nested in them.
  private val prefixUids: Set[String] =
    pipeline.map(p => Set(p.uid) ++ stages.take(prefixLength).flatMap(StageReuse.nestedUids)).getOrElse(Set.empty)
  // The keyed stage's uids: a setting's entries for these are its cache key.
  private val keyedUids: Set[String] =
    if (keyed) StageReuse.nestedUids(stages(prefixLength)) else Set.empty

  private val cached = ArrayBuffer.empty[DataFrame]
  private var released = false

  /** Runs `fit` once, on first use, under this object's lock; a failed fit is retried later. */
  private abstract class Once {
    @volatile private var ready: Option[Fitted] = None
    protected def fit(): Fitted
    def get: Fitted = ready.getOrElse(synchronized {
      ready.getOrElse { val f = fit(); ready = Some(f); f }
    })
    def loaded: Option[Fitted] = ready
  }

  private final class Fold(index: Int) {
    private val what = s"fold ${index + 1}/${splits.length}"

    /** The prefix's fitted model (None without a prefix) and the cached rows after it. */
    val base: Once = new Once {
      protected def fit(): Fitted = {
        val (train, valid) = splits(index)
        if (prefixLength > 0) {
          val prefix = new Pipeline(pipeline.get.uid).setStages(stages.take(prefixLength)).fit(train)
          Fitted(Some(prefix), keep(prefix.transform(train), s"$what training rows after the untuned stages"),
            keep(prefix.transform(valid), s"$what validation rows after the untuned stages"))
        } else {
          Fitted(None, keep(train, s"$what training rows"), keep(valid, s"$what validation rows"))
        }
      }
    }

    private final class Keyed(key: String, paramMap: ParamMap) extends Once {
      var users = 0
      protected def fit(): Fitted = {
        val in = base.get
        val stage = new Pipeline(pipeline.get.uid).setStages(Array(stages(prefixLength))).fit(in.train, paramMap)
        Fitted(Some(stage), keep(stage.transform(in.train), s"$what training rows after stage ${prefixLength + 1} with $key"),
          keep(stage.transform(in.valid), s"$what validation rows after stage ${prefixLength + 1} with $key"))
      }
      def drop(): Unit = loaded.foreach { f =>
        SearchEstimator.uninterruptibly { f.train.unpersist(); f.valid.unpersist() }
      }
    }

    // Access-ordered: the least recently used setting first.
    private val byKey = new java.util.LinkedHashMap[String, Keyed](16, 0.75f, true)

    /** The keyed stage's output for `paramMap`'s setting of it; call `done` when finished with it. */
    def keyedOutput(paramMap: ParamMap): (Fitted, () => Unit) = {
      val key = StageReuse.settingKey(paramMap, keyedUids)
      val entry = byKey.synchronized {
        val e = Option(byKey.get(key)).getOrElse { val e = new Keyed(key, paramMap); byKey.put(key, e); e }
        e.users += 1
        evict() // before the new setting's output is cached
        e
      }
      val done = () => byKey.synchronized { entry.users -= 1; evict() }
      try (entry.get, done) catch { case e: Throwable => done(); throw e }
    }

    // Drops idle settings, least recently used first, while more than the bound are kept.
    private def evict(): Unit = {
      val idle = byKey.values.iterator
      while (byKey.size > KeyedOutputsPerFold && idle.hasNext) {
        val e = idle.next()
        if (e.users == 0) { idle.remove(); e.drop() }
      }
    }
  }

  private val folds = Array.tabulate(splits.length)(new Fold(_))

  /**
   * What a work item of fold `fold` with setting `paramMap` fits, fitting (and caching) the
   * reused stages of that fold first if no work item has yet.
   */
  def input(fold: Int, paramMap: ParamMap): FoldInput = pipeline match {
    case Some(_) if StageReuse.touches(paramMap, prefixUids) =>
      val (train, valid) = splits(fold)
      FoldInput(estimator, train, valid, identity)
    case Some(p) if keyed =>
      val base = folds(fold).base.get
      val (out, done) = folds(fold).keyedOutput(paramMap)
      val rest = new Pipeline(p.uid).setStages(stages.drop(prefixLength + 1))
      FoldInput(rest, out.train, out.valid, suffix => StageReuse.joined(p, paramMap,
        base.model.toSeq ++ out.model, suffix.asInstanceOf[PipelineModel]), done)
    case Some(p) =>
      val base = folds(fold).base.get
      val rest = new Pipeline(p.uid).setStages(stages.drop(prefixLength))
      FoldInput(rest, base.train, base.valid,
        suffix => StageReuse.joined(p, paramMap, base.model.toSeq, suffix.asInstanceOf[PipelineModel]))
    case None =>
      val base = folds(fold).base.get
      FoldInput(estimator, base.train, base.valid, identity)
  }

  /** Caches `df` under a sparktpe name, unless the search has ended. */
  private def keep(df: DataFrame, what: String): DataFrame = synchronized {
    if (released) throw new IllegalStateException(s"the search has ended; $what not cached")
    if (StageReuse.cache(df, s"sparktpe $ownerUid $what")) cached += df
    df
  }

  /** Unpersists everything this search cached; afterwards nothing more is cached. */
  def release(): Unit = synchronized {
    released = true
    cached.foreach(df => SearchEstimator.uninterruptibly(df.unpersist()))
    cached.clear()
  }
}

private[sparktpe] object StageReuse {

  /** Settings of the keyed stage whose outputs are kept per fold (least recently used dropped). */
  val KeyedOutputsPerFold = 2

  /** Stages fitted once (None: none) and the cached rows after them. */
  private final case class Fitted(model: Option[PipelineModel], train: DataFrame, valid: DataFrame)

  /**
   * Where the keyed cache applies: the first stage a setting touches, when it comes right after
   * the untouched prefix, has stages after it, and the Pipeline's own `stages` is not searched.
   */
  def keyedStage(estimator: Estimator[_], touched: Option[Set[String]]): Option[Int] = (estimator, touched) match {
    case (p: Pipeline, Some(parents)) if !parents.contains(p.uid) && p.isDefined(p.stages) =>
      Some(untouchedPrefix(p, touched)).filter(_ < p.getStages.length - 1)
    case _ => None
  }

  /** `paramMap`'s entries for Params of the stages `uids`, as one text (a cache key). */
  def settingKey(paramMap: ParamMap, uids: Set[String]): String =
    TrialResult.entries(paramMap, Nil).filter { case (param, _) => uids(param.parent) }
      .map { case (param, value) => s"${param.name}=${TuningParams.show(value)}" }.sorted.mkString(", ")

  /**
   * How many leading stages of `estimator` no setting touches: 0 unless it is a Pipeline and
   * `touched` is known. A stage is touched when a Param of it, or of a stage nested in it
   * (a nested Pipeline's stages, OneVsRest's classifier), is set by some setting; setting a
   * Param of the Pipeline itself (its `stages`: alternative stages) touches everything.
   *
   * @param touched uids of the stages whose Params some setting sets; None: unknown (any Param
   *                may be set), so nothing is reused
   */
  def untouchedPrefix(estimator: Estimator[_], touched: Option[Set[String]]): Int = (estimator, touched) match {
    case (p: Pipeline, Some(parents)) if !parents.contains(p.uid) && p.isDefined(p.stages) =>
      p.getStages.iterator.takeWhile(s => !nestedUids(s).exists(parents)).length
    case _ => 0
  }

  /** The uids of `stage` and of every stage nested in it, through its Params' values. */
  def nestedUids(stage: Params): Set[String] = {
    val found = scala.collection.mutable.LinkedHashSet.empty[String]
    def visit(p: Params): Unit = if (found.add(p.uid)) {
      p.params.filter(p.isDefined).foreach(param => EstimatorParams.stagesIn(p.getOrDefault(param)).foreach(visit))
    }
    visit(stage)
    found.toSet
  }

  /** Does `paramMap` set a Param of one of the stages `uids`? Read without validating values. */
  def touches(paramMap: ParamMap, uids: Set[String]): Boolean =
    TrialResult.entries(paramMap, Nil).exists { case (param, _) => uids(param.parent) }

  /**
   * The model `pipeline.fit(train, paramMap)` gives, from the models of the stages fitted once
   * and the rest's: all stages, with the Pipeline's uid and its copy as parent. The shared
   * models are copied, so sub-models of different trials share no stage objects.
   */
  def joined(pipeline: Pipeline, paramMap: ParamMap, fitted: Seq[PipelineModel], rest: PipelineModel): PipelineModel = {
    val stages: Array[Transformer] = fitted.flatMap(_.stages).map(_.copy(ParamMap.empty)).toArray ++ rest.stages
    SparkMLBridge.pipelineModel(pipeline.uid, stages).setParent(pipeline.copy(paramMap))
  }

  /**
   * Persists `df` (MEMORY_AND_DISK) through Spark's cache manager under `name`, so its RDD is
   * called `In-memory table <name>` (a plain `persist` names it after the query plan).
   * @return false, caching nothing, when `df` is cached already (by its owner: not ours to release)
   */
  def cache(df: DataFrame, name: String): Boolean = df.storageLevel == StorageLevel.NONE && {
    SparkMLBridge.cacheNamed(df, name, StorageLevel.MEMORY_AND_DISK)
    true
  }
}
