package sparktpe

import scala.collection.mutable

import org.apache.spark.ml.{Estimator, PipelineStage}
import org.apache.spark.ml.param.{Param, ParamMap, Params}

/**
 * Every Param a setting may touch: those of the estimator and of every stage nested in it,
 * however deep (a Pipeline's stages, OneVsRest's classifier, a tuner's estimator and evaluator,
 * the stages a nested tuner's grid chooses between), plus those of `extra` stages: stages that
 * settings use as values (`ovr.classifier -> lr`, alternatives of `pipeline.stages`) and that
 * may appear nowhere in the estimator. This is the set Spark's `MetaAlgorithmReadWrite.getUidMap`
 * gives for Spark's own meta-algorithms, found here by a generic walk over Param values, so
 * meta-estimators Spark's list does not name are covered too.
 *
 * Proposals and saved settings name a Param by its parent's uid and its name, and a stage by its
 * uid; this class turns them back into JVM objects.
 */
private[sparktpe] final class EstimatorParams(estimator: Estimator[_], extra: Seq[Params] = Nil) {

  private val stages: Map[String, Params] = {
    val found = mutable.LinkedHashMap.empty[String, Params]
    def visit(p: Params): Unit = if (!found.contains(p.uid)) {
      found(p.uid) = p
      p.params.filter(p.isDefined).foreach(param => EstimatorParams.stagesIn(p.getOrDefault(param)).foreach(visit))
    }
    // The estimator's own stages first: where a value stage shares a uid with one, either is
    // the same object at save time, and the estimator's is the one fits use.
    visit(estimator)
    extra.foreach(visit)
    found.toMap
  }

  private val byKey: Map[(String, String), Param[Any]] =
    stages.values.toSeq.flatMap(o => o.params.map(p => (p.parent, p.name) -> p.asInstanceOf[Param[Any]]))
      .toMap

  /** Every Param of every known stage. */
  def allParams: Iterable[Param[Any]] = byKey.values

  /** The Param `name` of the stage with uid `parent`; throws naming both if there is none. */
  def lookup(parent: String, name: String): Param[Any] = byKey.getOrElse((parent, name),
    throw new IllegalArgumentException(
      s"Param $parent.$name belongs to no stage of the estimator ${estimator.uid}; " +
        s"tunable stages are ${byKey.keys.map(_._1).toSeq.distinct.sorted.mkString(", ")}"))

  /** The stage with this uid; throws naming it if there is none. */
  def stage(uid: String): PipelineStage = stages.get(uid) match {
    case Some(s: PipelineStage) => s
    case _ => throw new IllegalArgumentException(
      s"stage $uid is neither a stage of the estimator ${estimator.uid} nor a candidate stage " +
        s"of the search space; known stages are ${stages.keys.toSeq.sorted.mkString(", ")}")
  }

  def require(param: Param[_]): Unit = lookup(param.parent, param.name)
}

private[sparktpe] object EstimatorParams {

  /** The stages (any `Params`) a Param value holds: itself, an array's elements, or a grid's values. */
  def stagesIn(value: Any): Seq[Params] = value match {
    case p: Params => Seq(p)
    case xs: Array[_] => xs.toSeq.flatMap {
      case p: Params => Seq(p)
      case m: ParamMap => stagesInParamMap(m) // a nested tuner's grid
      case _ => Nil
    }
    case _ => Nil
  }

  /**
   * The stages used as values in a ParamMap. Reads values with `get`, never `toSeq`, which
   * validates each value and so throws for a map holding an invalid one.
   */
  private def stagesInParamMap(m: ParamMap): Seq[Params] =
    TrialResult.entries(m, Nil).flatMap { case (_, v) => stagesIn(v) }

  /** The stages used as values by these settings. */
  def stagesInSettings(settings: Iterable[(Param[Any], Any)]): Seq[Params] =
    settings.toSeq.flatMap { case (_, v) => stagesIn(v) }
}
