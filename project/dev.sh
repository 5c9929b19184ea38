#!/usr/bin/env bash
# The project's entry points (see README):
#   project/dev.sh example [args]   build what is needed, then run examples/flights.py
#   project/dev.sh test             build what is needed, then the Scala suite and pytest
#   project/dev.sh bench [args]     build what is needed, then bench/run_all.py (results in bench/results/)
#   project/dev.sh wheel            build the jar, then dist/spark_tpe-<version>-py3-none-any.whl with it inside
# The first run makes .venv (pyspark, hyperopt, numpy, test and example extras) and the jar;
# later runs reuse them (the venv is refreshed only when python/pyproject.toml changes).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$root/.venv/bin/python"

setup_python() {
  local stamp=".venv/.sparktpe-stamp" want
  want="$(sha1sum python/pyproject.toml | cut -c1-40)"
  if [ ! -x .venv/bin/python ]; then
    echo "sparktpe: creating .venv" >&2
    python3 -m venv .venv
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "sparktpe: installing Python packages into .venv" >&2
    # uv (from PyPI) downloads and builds in parallel: half of pip's time for pyspark's sdist
    # and the rest here (86 s against 164 s on a fresh 2-core machine); pip if uv is unavailable.
    if .venv/bin/python -m pip install -q uv; then
      .venv/bin/python -m uv pip install -q --python .venv/bin/python -e "python[test,examples]"
    else
      .venv/bin/python -m pip install -q --upgrade pip
      .venv/bin/python -m pip install -q -e "python[test,examples]"
    fi
    echo "$want" > "$stamp"
  fi
}

# The jar goes into the wheel as package data: copied to python/sparktpe/jars/ for the build only
# (python/build_backend.py refuses to build a wheel without it), then removed again.
build_wheel() {
  local version jar
  version="$(sed -n 's/^VERSION = "\(.*\)"$/\1/p' python/sparktpe/version.py)"
  jar="target/scala-2.13/sparktpe_2.13-$version.jar"
  [ -f "$jar" ] || { echo "sparktpe: no $jar: is build.sbt's version $version?" >&2; exit 1; }
  trap 'rm -rf python/sparktpe/jars python/build' EXIT
  rm -rf python/sparktpe/jars python/build
  mkdir -p python/sparktpe/jars dist
  cp "$jar" python/sparktpe/jars/
  .venv/bin/python -m pip wheel -q --no-deps -w dist ./python
  echo "sparktpe: built dist/spark_tpe-$version-py3-none-any.whl" >&2
}

case "${1:-}" in
  example)
    shift
    setup_python
    project/sbt package
    exec .venv/bin/python examples/flights.py "$@"
    ;;
  test)
    shift
    setup_python
    project/sbt package  # pytest needs the jar
    # The Scala suite and pytest each keep about one core busy (Spark's per-job overhead, not
    # compute), so on 2 cores they run side by side: the Scala suite in the background, its log
    # in target/scala-tests.log, printed when pytest ends.
    scala_log=target/scala-tests.log
    project/sbt test > "$scala_log" 2>&1 &
    scala_pid=$!
    trap 'kill "$scala_pid" 2>/dev/null || true' EXIT
    echo "sparktpe: Scala suite running in the background (log: $scala_log); pytest now" >&2
    pytest_status=0
    .venv/bin/python -m pytest tests "$@" || pytest_status=$?
    scala_status=0
    wait "$scala_pid" || scala_status=$?
    trap - EXIT
    echo "sparktpe: Scala suite ($scala_log):" >&2
    cat "$scala_log"
    echo "sparktpe: pytest exit status $pytest_status, Scala suite exit status $scala_status" >&2
    [ "$pytest_status" -eq 0 ] && [ "$scala_status" -eq 0 ]
    ;;
  bench)
    shift
    setup_python
    project/sbt package
    exec .venv/bin/python bench/run_all.py "$@"
    ;;
  wheel)
    setup_python
    project/sbt package
    build_wheel
    ;;
  *)
    echo "usage: project/dev.sh example [args] | test [pytest args] | bench [args] | wheel" >&2
    exit 2
    ;;
esac
