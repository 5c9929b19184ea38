package sparktpe

/**
 * The pluggable proposer, as a plain Java interface with JSON strings in and out, so that it can
 * be implemented in Python through py4j (that is how Hyperopt's TPE plugs in) or in any JVM
 * language. It is always called from one long-lived JVM thread, one call at a time.
 *
 * Request (one per trial wanted), with the trials that finished since the previous call:
 * {{{
 *   {"trialId": 7,
 *    "finished": [{"trialId": 3, "status": "ok", "loss": -0.83, "vals": {...}},
 *                 {"trialId": 4, "status": "failed", "loss": null, "vals": {...}}]}
 * }}}
 * `loss` is the mean metric, negated when the evaluator is larger-is-better. Trials proposed
 * and not yet reported are pending. Response:
 * {{{
 *   {"params": [{"parent": "LogisticRegression_1a2b", "name": "regParam", "value": 0.01}],
 *    "vals": {...}}          // or {"exhausted": true} when there is nothing more to propose
 * }}}
 * `value` is the Param's own JSON encoding (as `Param.jsonEncode` writes it); `vals` is opaque.
 */
trait TrialProposer {
  def propose(requestJson: String): String

  /**
   * One setting drawn from the proposer's search space, as a response of [[propose]] would carry
   * it (`{"params": [...], "vals": {...}}`), without changing the proposer's state. Called once
   * before any Spark job, so that `fit` can check the estimator's schema with a setting applied
   * (as Spark's tuners check it with each grid setting): a Param with no default, such as
   * `PCA.k`, may be set only by the search. Return `{"params": []}` if there is nothing to draw.
   */
  def example(): String
}
