"""A progress bar for a running search: trials finished / maxEvals, best metric, elapsed time."""

import json
import os
import sys

from tqdm.auto import tqdm


def interactive():
    """True when stderr is a terminal (or a notebook, where tqdm.auto draws a widget)."""
    return getattr(sys.stderr, "isatty", lambda: False)() or "ipykernel" in sys.modules


def _zero_size_fallback(file, columns=100, lines=24):
    """(columns, lines) for a terminal that reports a size of 0 (a new pseudo-terminal,
    `script`, some containers), where tqdm would draw nothing; else (None, None): tqdm's own."""
    try:
        size = os.get_terminal_size(file.fileno()) if file.isatty() else None
    except (AttributeError, OSError, ValueError):
        size = None
    if size is None:
        return None, None
    return (size.columns or columns), (size.lines or lines)


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
        file = file or sys.stderr
        size = _zero_size_fallback(file)
        self._bar = tqdm(total=0, unit="trial", desc="sparktpe", file=file, leave=True,
                         ncols=size[0], nrows=size[1])

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
