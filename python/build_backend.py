"""setuptools' build backend, refusing to build a wheel without the sparktpe jar in it.

The jar is package data (``sparktpe/jars/sparktpe_2.13-<VERSION>.jar``) that ``project/dev.sh
wheel`` copies in from the sbt build; it is not in git. Without this check, ``pip wheel python``
in a fresh checkout would quietly make a wheel whose ``spark_jars()`` fails on every user's
machine. Editable installs (``pip install -e python``) use the jar in target/ and are not checked.
"""

import glob
import os
import runpy

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F401,F403  (every other hook unchanged)

_HERE = os.path.dirname(os.path.abspath(__file__))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = runpy.run_path(os.path.join(_HERE, "sparktpe", "version.py"))["VERSION"]
    jars_dir = os.path.join(_HERE, "sparktpe", "jars")
    want = os.path.join(jars_dir, f"sparktpe_2.13-{version}.jar")
    found = sorted(glob.glob(os.path.join(jars_dir, "*.jar")))
    if found != [want]:
        raise RuntimeError(
            f"a sparktpe wheel must contain exactly the jar {want} (the package's version is "
            f"{version}), found {found or 'no jar'}. Build the wheel with `project/dev.sh wheel`, "
            "which builds the jar and copies it there")
    return build_meta.build_wheel(wheel_directory, config_settings, metadata_directory)
