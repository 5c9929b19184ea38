package sparktpe

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.ml.{Estimator, Model, Pipeline, PipelineModel, PipelineStage, Transformer}
import org.apache.spark.ml.param.{ParamMap, Params}
import org.apache.spark.ml.sparktpe.SparkMLBridge
import org.apache.spark.sql.DataFrame
import org.apache.spark.storage.StorageLevel

/**
 * What one work item fits: `estimator` on `train`, scored on `valid` (both cached for the
 * search); `whole` turns the fitted model into a model of the whole estimator (for subModels).
 */
private[sparktpe] final case class FoldInput(
    estimator: Estimator[_], train: DataFrame, valid: DataFrame, whole: Model[_] => Model[_])

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
 * Memory: the input (cached by the search) plus, per fold, its training and validation rows or
 * the prefix's output on them: about `numFolds` times the input (one time for a
 * train/validation split), times the prefix output's size over the input's. Every cached
 * DataFrame is named `sparktpe <uid> ...` (its RDD shows as `In-memory table sparktpe <uid>
 * ...` in `SparkContext.getRDDStorageInfo` and the Spark UI). [[release]] unpersists them all;
 * after it, nothing more is cached (a late work item fails instead).
 *
 * A setting that does touch the prefix (an external proposer going beyond the Params it
 * declared) is fitted the plain way, whole estimator on the fold's rows, so results never
 * depend on the declaration being right.
 *
 * @param splits       (training, validation) per fold, uncached
 * @param estimator    the estimator being tuned
 * @param prefixLength leading Pipeline stages to fit once per fold (0: none)
 * @param ownerUid     the tuner's uid, part of the cached DataFrames' names
 */
private[sparktpe] final class StageReuse(
    splits: Array[(DataFrame, DataFrame)],
    estimator: Estimator[_],
    prefixLength: Int,
    ownerUid: String) {

  private val pipeline: Option[Pipeline] = estimator match {
    case p: Pipeline if prefixLength > 0 => Some(p)
    case _ => None
  }
  private val prefixStages: Array[PipelineStage] = pipeline.map(_.getStages.take(prefixLength)).getOrElse(Array.empty)
  // uids a setting must not touch for the prefix's output to be reused: the Pipeline's own
  // and those of every prefix stage and of the stages nested in them.
  private val prefixUids: Set[String] =
    pipeline.map(p => Set(p.uid) ++ prefixStages.flatMap(StageReuse.nestedUids)).getOrElse(Set.empty)

  private val cached = ArrayBuffer.empty[DataFrame]
  private var released = false

  import StageReuse.Prepared

  private final class Fold(index: Int) {
    @volatile private var ready: Option[Prepared] = None

    // Double-checked: one preparation per fold; a failed one (say, cancelled) is retried later.
    def prepared: Prepared = ready.getOrElse(synchronized {
      ready.getOrElse {
        val p = prepare()
        ready = Some(p)
        p
      }
    })

    private def prepare(): Prepared = {
      val (train, valid) = splits(index)
      val what = s"fold ${index + 1}/${splits.length}"
      pipeline match {
        case Some(p) =>
          val prefixModel = new Pipeline(p.uid).setStages(prefixStages).fit(train)
          Prepared(Some(prefixModel),
            keep(prefixModel.transform(train), s"$what training rows after the untuned stages"),
            keep(prefixModel.transform(valid), s"$what validation rows after the untuned stages"))
        case None =>
          Prepared(None, keep(train, s"$what training rows"), keep(valid, s"$what validation rows"))
      }
    }
  }

  private val folds = Array.tabulate(splits.length)(new Fold(_))

  /** What a work item of fold `fold` with setting `paramMap` fits (preparing the fold if first). */
  def input(fold: Int, paramMap: ParamMap): FoldInput = pipeline match {
    case Some(_) if StageReuse.touches(paramMap, prefixUids) =>
      val (train, valid) = splits(fold)
      FoldInput(estimator, train, valid, identity)
    case Some(p) =>
      val prepared = folds(fold).prepared
      val rest = new Pipeline(p.uid).setStages(p.getStages.drop(prefixLength))
      FoldInput(rest, prepared.train, prepared.valid,
        suffix => StageReuse.joined(p, paramMap, prepared.prefixModel.get, suffix.asInstanceOf[PipelineModel]))
    case None =>
      val prepared = folds(fold).prepared
      FoldInput(estimator, prepared.train, prepared.valid, identity)
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

  /** A prepared fold: the prefix's fitted model (if any) and the cached rows trials fit on. */
  private final case class Prepared(prefixModel: Option[PipelineModel], train: DataFrame, valid: DataFrame)

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
   * The model `pipeline.fit(train, paramMap)` gives, from the prefix's fitted model and the
   * rest's: all stages, with the Pipeline's uid and its copy as parent. The prefix's models
   * are copied, so sub-models of different trials share no stage objects.
   */
  def joined(pipeline: Pipeline, paramMap: ParamMap, prefix: PipelineModel, rest: PipelineModel): PipelineModel = {
    val stages: Array[Transformer] = prefix.stages.map(_.copy(ParamMap.empty)) ++ rest.stages
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
