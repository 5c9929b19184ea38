package sparktpe

import scala.util.control.NonFatal

import org.apache.spark.ml.param.Param
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/**
 * Adapts an external [[TrialProposer]] to the search loop: writes the request JSON, and reads
 * the response strictly. A null or malformed response is an error, never a silent default.
 */
private[sparktpe] final class JsonTrialProposer(
    external: TrialProposer,
    params: EstimatorParams) extends Proposer {

  def next(trialId: Int, finished: Seq[TrialOutcome]): Option[Proposal] = {
    val request = JObject(
      "trialId" -> JInt(trialId),
      "finished" -> JArray(finished.toList.map { o =>
        JObject(List(
          "trialId" -> JInt(o.trialId),
          "status" -> JString(o.status),
          "loss" -> (if (o.loss.isNaN) JNull else JDouble(o.loss)),
          "vals" -> parse(o.vals)) ++
          o.settings.map(s => "params" -> TunerPersistence.settingsJson(s)).toList)
      }))
    val response = external.propose(compact(render(request)))
    if (response == null) {
      throw new IllegalStateException(s"proposer returned null for trial $trialId")
    }
    val json = try parse(response) catch {
      case NonFatal(e) => throw new IllegalStateException(
        s"proposer returned malformed JSON for trial $trialId: ${response.take(200)}", e)
    }
    decode(trialId, json, response)
  }

  /**
   * The external proposer's `example()`: one setting drawn from its space, decoded as a
   * proposal is (strictly); `{"params": []}` (or `{"exhausted": true}`) means no setting.
   * Call it on [[ProposerThread]], as every proposer call.
   */
  def example(): Seq[(Param[Any], Any)] = {
    val response = external.example()
    if (response == null) throw new IllegalStateException("proposer returned null for example()")
    val json = try parse(response) catch {
      case NonFatal(e) => throw new IllegalStateException(
        s"proposer returned malformed JSON for example(): ${response.take(200)}", e)
    }
    decode(-1, json, response).map(_.settings).getOrElse(Nil)
  }

  private def decode(trialId: Int, json: JValue, raw: String): Option[Proposal] = {
    val what = if (trialId < 0) "example()" else s"trial $trialId"
    def malformed(why: String) = new IllegalStateException(
      s"proposer response for $what $why: ${raw.take(200)}")
    json match {
      case JObject(fields) if fields.toMap.get("exhausted").contains(JBool(true)) => None
      case JObject(fields) =>
        val items = fields.toMap.get("params") match {
          case Some(JArray(xs)) => xs
          case _ => throw malformed("has no \"params\" array")
        }
        val settings = items.map {
          case JObject(f) =>
            val m = f.toMap
            (m.get("parent"), m.get("name"), m.get("value")) match {
              case (Some(JString(parent)), Some(JString(name)), Some(value)) =>
                val param = params.lookup(parent, name)
                (param, TunerPersistence.decodeValue(param, value, params))
              case _ => throw malformed("has a param without parent, name and value")
            }
          case _ => throw malformed("has a param that is not an object")
        }
        Some(Proposal(settings, compact(render(fields.toMap.getOrElse("vals", JObject())))))
      case _ => throw malformed("is not a JSON object")
    }
  }
}
