package sparktpe

import org.apache.spark.ml.{Estimator, Pipeline, PipelineStage}
import org.apache.spark.ml.param.{Param, Params}

/**
 * Every Param a setting may touch: the estimator's own and, for a `Pipeline`, those of every
 * stage (recursively). Proposals from Python name a Param by its parent's uid and its name;
 * this class turns that back into the JVM `Param` object.
 */
private[sparktpe] final class EstimatorParams(estimator: Estimator[_]) {

  private val byKey: Map[(String, String), Param[Any]] =
    owners(estimator).flatMap(o => o.params.map(p => (p.parent, p.name) -> p.asInstanceOf[Param[Any]]))
      .toMap

  private def owners(stage: PipelineStage): Seq[Params] = stage match {
    case p: Pipeline => p +: p.getStages.toSeq.flatMap(owners)
    case other => Seq(other)
  }

  /** The Param `name` of the stage with uid `parent`; throws naming both if there is none. */
  def lookup(parent: String, name: String): Param[Any] = byKey.getOrElse((parent, name),
    throw new IllegalArgumentException(
      s"Param $parent.$name belongs to no stage of the estimator ${estimator.uid}; " +
        s"tunable stages are ${byKey.keys.map(_._1).toSeq.distinct.sorted.mkString(", ")}"))

  def require(param: Param[_]): Unit = lookup(param.parent, param.name)
}
