"""The sparktpe version: the one place Python reads it from.

``python/pyproject.toml`` takes the wheel's version from here, ``sparktpe.__version__`` is this,
and the jar name (``sparktpe_2.13-<VERSION>.jar``) is built from it. It must equal ``version`` in
build.sbt: ``require_jar`` checks at every fit that the jar in the JVM says the same.
"""

VERSION = "0.1.0"
