"""Errors raised by sparktpe."""


class SearchError(RuntimeError):
    """A search could not finish: the proposer failed, it was cancelled, or no trial succeeded.

    Attributes
    ----------
    trials : list of dict
        Every trial known when the search stopped (``trialId``, ``status``, ``metric``,
        ``error``), so finished work is not lost.
    """

    def __init__(self, message, trials=None):
        super().__init__(message)
        self.trials = trials or []
