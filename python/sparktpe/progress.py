"""A progress bar for a running search: trials finished / maxEvals, best metric, elapsed time."""

import json
import sys

from tqdm.auto import tqdm


def interactive():
    """True when stderr is a terminal (or a notebook, where tqdm.auto draws a widget)."""
    return getattr(sys.stderr, "isatty", lambda: False)() or "ipykernel" in sys.modules


class SearchProgress:
    """Polls a JVM tuner's ``progressJson()`` and draws it with ``tqdm``.

    Parameters
    ----------
    source : object
        Anything with ``progressJson() -> str`` returning
        ``{"finished": int, "total": int, "best": float or null}`` (the JVM tuner).
    file : file-like, optional
        Where to draw; default ``sys.stderr``.
    """

    def __init__(self, source, file=None):
        self._source = source
        self._bar = tqdm(total=0, unit="trial", desc="sparktpe", file=file or sys.stderr,
                         dynamic_ncols=True, leave=True)

    def update(self):
        state = json.loads(self._source.progressJson())
        if state["total"]:
            self._bar.total = state["total"]
        self._bar.n = state["finished"]
        if state["best"] is not None:
            self._bar.set_postfix(best=f"{state['best']:.6g}", refresh=False)
        self._bar.refresh()

    def close(self):
        self._bar.close()
