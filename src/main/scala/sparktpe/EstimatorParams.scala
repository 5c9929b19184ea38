package sparktpe

import org.apache.spark.ml.{Estimator, Pipeline, PipelineStage}
import org.apache.spark.ml.param.{Param, Params}

/**
 * Every Param a setting may touch: the estimator's own and, for a `Pipeline`, those of every
 * stage (recursively), plus those of `extra` stages a conditional search space may put into
 * the Pipeline (alternatives of `pipeline.stages`). Proposals from Python name a Param by its
 * parent's uid and its name, and a stage by its uid; this class turns them back into JVM objects.
 */
private[sparktpe] final class EstimatorParams(estimator: Estimator[_], extra: Seq[PipelineStage] = Nil) {

  private def owners(stage: PipelineStage): Seq[PipelineStage] = stage match {
    case p: Pipeline => p +: p.getStages.toSeq.flatMap(owners)
    case other => Seq(other)
  }

  private val stages: Map[String, PipelineStage] =
    (owners(estimator) ++ extra.flatMap(owners)).map(s => s.uid -> s).toMap

  private val byKey: Map[(String, String), Param[Any]] =
    stages.values.toSeq.flatMap(o => o.params.map(p => (p.parent, p.name) -> p.asInstanceOf[Param[Any]]))
      .toMap

  /** The Param `name` of the stage with uid `parent`; throws naming both if there is none. */
  def lookup(parent: String, name: String): Param[Any] = byKey.getOrElse((parent, name),
    throw new IllegalArgumentException(
      s"Param $parent.$name belongs to no stage of the estimator ${estimator.uid}; " +
        s"tunable stages are ${byKey.keys.map(_._1).toSeq.distinct.sorted.mkString(", ")}"))

  /** The stage with this uid; throws naming it if there is none. */
  def stage(uid: String): PipelineStage = stages.getOrElse(uid, throw new IllegalArgumentException(
    s"stage $uid is neither a stage of the estimator ${estimator.uid} nor a candidate stage " +
      s"of the search space; known stages are ${stages.keys.toSeq.sorted.mkString(", ")}"))

  def require(param: Param[_]): Unit = lookup(param.parent, param.name)
}
