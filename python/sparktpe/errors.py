"""Errors raised by sparktpe's ``fit``: both carry every trial known when the search ended."""


class _CarriesTrials:
    """The trials of a search that ended early, so that no finished work is lost.

    Attributes
    ----------
    trials : pyspark.sql.DataFrame or None
        One row per trial, the columns of a tuned model's ``trials`` (``status`` says which
        finished: ``ok``, ``pruned``, ``failed``, ``cancelled``). None only when the JVM search
        could not be reached (a second Ctrl-C abandoned the wait for it).
    trialsJson : str or None
        The same trials in the ``initialTrials`` format: ``initialTrials=error`` (the
        exception itself) or ``initialTrials=error.trialsJson`` continues the search.
    """

    def _keep_trials(self, trials, trials_json):
        self.trials = trials
        self.trialsJson = trials_json


class SearchError(RuntimeError, _CarriesTrials):
    """A search could not finish: the proposer failed, it was cancelled, the final refit
    failed, or no trial succeeded. See :class:`_CarriesTrials` for ``trials``/``trialsJson``.
    """

    def __init__(self, message, trials=None, trials_json=None):
        super().__init__(message)
        self._keep_trials(trials, trials_json)


class SearchInterrupted(KeyboardInterrupt, _CarriesTrials):
    """Ctrl-C (KeyboardInterrupt) during ``fit``: the search was cancelled and its Spark jobs
    stopped. A ``KeyboardInterrupt``, so code that stops on Ctrl-C still stops, but carrying
    the trials (see :class:`_CarriesTrials`)."""

    def __init__(self, message, trials=None, trials_json=None):
        super().__init__(message)
        self._keep_trials(trials, trials_json)
