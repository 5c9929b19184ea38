package sparktpe

import scala.util.Random

import org.apache.spark.ml.param._

/**
 * A search space built in Scala, for `searchAlgorithm = "random"` without Python.
 * Immutable; each method returns a new space with one more dimension:
 * {{{
 *   SearchSpace()
 *     .logUniform(lr.regParam, 1e-4, 1.0)   // bounds are values, not logs
 *     .uniform(lr.elasticNetParam, 0.0, 1.0)
 *     .intRange(lr.maxIter, 5, 50)          // both ends inclusive
 *     .choice(lr.fitIntercept, Seq(true, false))
 * }}}
 * The Python wrapper uses Hyperopt expressions instead; both feed the same search loop.
 */
final class SearchSpace private (val dimensions: Seq[SearchSpace.Dimension]) extends Serializable {
  import SearchSpace._

  private def add(d: Dimension): SearchSpace = {
    require(!dimensions.exists(_.param == d.param),
      s"searchSpace: ${d.param.parent}.${d.param.name} is already in the space")
    new SearchSpace(dimensions :+ d)
  }

  private def numeric(param: Param[_], low: Double, high: Double): Unit = {
    require(low <= high, s"searchSpace: ${param.name} bounds must satisfy low <= high, got [$low, $high]")
    param match {
      case _: IntParam | _: LongParam | _: FloatParam | _: DoubleParam =>
      case _ => throw new IllegalArgumentException(
        s"searchSpace: ${param.name} is a ${param.getClass.getSimpleName}; numeric ranges " +
          "need an Int, Long, Float or Double Param (use choice for others)")
    }
  }

  /** Uniform on [low, high]. */
  def uniform(param: Param[_], low: Double, high: Double): SearchSpace = {
    numeric(param, low, high); add(Uniform(param, low, high))
  }

  /** Log-uniform on [low, high], both > 0 (like Hyperopt's loguniform(log low, log high)). */
  def logUniform(param: Param[_], low: Double, high: Double): SearchSpace = {
    numeric(param, low, high)
    require(low > 0, s"searchSpace: ${param.name} log-uniform needs low > 0, got $low")
    add(LogUniform(param, low, high))
  }

  /** Uniform on [low, high], rounded to a multiple of q (Hyperopt's quniform). */
  def quantized(param: Param[_], low: Double, high: Double, q: Double): SearchSpace = {
    numeric(param, low, high)
    require(q > 0, s"searchSpace: ${param.name} quantum q must be > 0, got $q")
    add(Quantized(param, low, high, q))
  }

  /** An integer on [low, high], both inclusive. */
  def intRange(param: Param[_], low: Int, high: Int): SearchSpace = {
    numeric(param, low, high); add(IntRange(param, low, high))
  }

  /** One of `values`, each equally likely. */
  def choice(param: Param[_], values: Seq[Any]): SearchSpace = {
    require(values.nonEmpty, s"searchSpace: ${param.name} choice needs at least one value")
    add(Choice(param, values))
  }

  /** One random setting: a value for every dimension, typed for its Param. */
  def sample(rng: Random): Seq[(Param[Any], Any)] = dimensions.map(d => (d.param, d.draw(rng)))

  override def toString: String = dimensions.mkString("SearchSpace(", ", ", ")")
}

object SearchSpace {
  def apply(): SearchSpace = new SearchSpace(Nil)

  /** The grid's values as a space: each Param a choice over its distinct grid values. */
  def fromGrid(grid: Array[ParamMap]): SearchSpace = {
    val params = grid.flatMap(_.toSeq.map(_.param)).distinct
    params.foldLeft(SearchSpace()) { (space, p) =>
      space.choice(p, grid.flatMap(_.get(p.asInstanceOf[Param[Any]])).distinct.toSeq)
    }
  }

  sealed trait Dimension extends Serializable {
    def param: Param[Any]
    def draw(rng: Random): Any
  }

  /** Casts a sampled number to the Param's own type, so the setting is what a user would set. */
  private def typed(param: Param[_], x: Double): Any = param match {
    case _: IntParam => math.round(x).toInt
    case _: LongParam => math.round(x)
    case _: FloatParam => x.toFloat
    case _ => x
  }

  private def quantize(x: Double, q: Double): Double = math.round(x / q) * q

  final case class Uniform(p: Param[_], low: Double, high: Double) extends Dimension {
    val param: Param[Any] = p.asInstanceOf[Param[Any]]
    def draw(rng: Random): Any = typed(p, low + (high - low) * rng.nextDouble())
  }
  final case class LogUniform(p: Param[_], low: Double, high: Double) extends Dimension {
    val param: Param[Any] = p.asInstanceOf[Param[Any]]
    def draw(rng: Random): Any =
      typed(p, math.exp(math.log(low) + (math.log(high) - math.log(low)) * rng.nextDouble()))
  }
  final case class Quantized(p: Param[_], low: Double, high: Double, q: Double) extends Dimension {
    val param: Param[Any] = p.asInstanceOf[Param[Any]]
    def draw(rng: Random): Any = typed(p, quantize(low + (high - low) * rng.nextDouble(), q))
  }
  final case class IntRange(p: Param[_], low: Int, high: Int) extends Dimension {
    val param: Param[Any] = p.asInstanceOf[Param[Any]]
    def draw(rng: Random): Any = typed(p, (low + rng.nextInt(high - low + 1)).toDouble)
  }
  final case class Choice(p: Param[_], values: Seq[Any]) extends Dimension {
    val param: Param[Any] = p.asInstanceOf[Param[Any]]
    def draw(rng: Random): Any = values(rng.nextInt(values.length))
  }
}
