"""The wheel carries the jar, and the jar and the Python package agree on their version."""

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

import sparktpe
from sparktpe.jar import jar_version, require_jar
from sparktpe.version import VERSION

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JAR_NAME = f"sparktpe_2.13-{VERSION}.jar"
BUILT_JAR = os.path.join(ROOT, "target", "scala-2.13", JAR_NAME)


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _copy_project(dest):
    """The checkout's python/ project, copied to ``dest`` without build leftovers or jars."""
    dest.mkdir()
    for name in ("pyproject.toml", "build_backend.py"):
        shutil.copy(os.path.join(ROOT, "python", name), dest)
    shutil.copytree(os.path.join(ROOT, "python", "sparktpe"), dest / "sparktpe",
                    ignore=shutil.ignore_patterns("__pycache__", "jars"))
    return dest


def _pip_wheel(project, dist):
    return subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                           str(dist), str(project)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel built from this checkout's python/ (copied, so the tree is not touched) with
    the jar that `project/sbt package` left in target/, as `project/dev.sh wheel` does."""
    assert os.path.isfile(BUILT_JAR), f"{BUILT_JAR} missing: run `project/sbt package` first"
    work = tmp_path_factory.mktemp("wheel")
    project = _copy_project(work / "project")
    (project / "sparktpe" / "jars").mkdir()
    shutil.copy(BUILT_JAR, project / "sparktpe" / "jars")
    dist = work / "dist"
    built = _pip_wheel(project, dist)
    assert built.returncode == 0, built.stderr
    wheels = os.listdir(dist)
    assert wheels == [f"spark_tpe-{VERSION}-py3-none-any.whl"]
    return dist / wheels[0]


def test_wheel_contains_the_built_jar(wheel):
    with zipfile.ZipFile(wheel) as archive:
        jars = [name for name in archive.namelist() if name.endswith(".jar")]
        assert jars == [f"sparktpe/jars/{JAR_NAME}"]
        shipped = archive.read(jars[0])
    with open(BUILT_JAR, "rb") as f:
        assert _sha256(shipped) == _sha256(f.read())


def test_installed_wheel_finds_its_own_jar(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "SPARKTPE_JAR"}
    env["PYTHONPATH"] = str(target)  # ahead of the checkout's editable install in site-packages
    out = subprocess.run(
        [sys.executable, "-c",
         "import sparktpe; print(sparktpe.__file__); print(sparktpe.spark_jars()); "
         "print(sparktpe.__version__)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == str(target / "sparktpe" / "__init__.py")
    assert out[1] == str(target / "sparktpe" / "jars" / JAR_NAME)
    assert out[2] == VERSION


def test_a_wheel_without_the_jar_is_refused(tmp_path):
    # The backend's wheel hook, called as pip calls it (in the project directory); it refuses
    # before setuptools starts, so this needs no isolated build environment.
    project = _copy_project(tmp_path / "project")
    result = subprocess.run(
        [sys.executable, "-c", "import build_backend; build_backend.build_wheel('dist')"],
        cwd=project, capture_output=True, text=True)
    assert result.returncode != 0
    assert (f"RuntimeError: a sparktpe wheel must contain exactly the jar "
            f"{project}/sparktpe/jars/{JAR_NAME} (the package's version is {VERSION}), "
            "found no jar") in result.stderr
    assert not (project / "dist").exists()


def test_jar_in_the_session_has_the_package_version(spark):
    assert sparktpe.__version__ == VERSION
    assert jar_version(spark) == VERSION
    require_jar(spark)  # the real pair passes


def test_version_mismatch_names_both_versions_and_the_jar(spark):
    with pytest.raises(RuntimeError) as info:
        require_jar(spark, expected_version="9.9.9")
    message = str(info.value)
    assert ("sparktpe version mismatch: the Python package is 9.9.9 but the jar on the Spark "
            f"driver's classpath is {VERSION} (loaded from {sparktpe.spark_jars()})") in message
    assert "spark.jars.packages=io.github.sparktpe:sparktpe_2.13:9.9.9" in message
    assert f"or install spark-tpe=={VERSION} to match the jar" in message
