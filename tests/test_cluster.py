"""sparktpe on a real Spark standalone cluster: a master and two 1-core workers on 127.0.0.1,
started from the pyspark wheel's own classes.

The cluster's driver runs in its own process (tests/cluster_job.py), since this process already
has the local[2] session of conftest.py. Its searches are compared with the same searches run
here, and a worker (with its executor) is killed in the middle of its last search.
"""

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pyspark
import pytest

from cluster_job import (COMPARE_GRID, LOSS_GRID, QUICK_JVM, SEARCH_STARTED, TRIAL_FINISHED, breast_cancer,
                         grid_search, summary, tpe_search)

pytestmark = pytest.mark.cluster

SPARK_HOME = Path(pyspark.__file__).parent
JOB = Path(__file__).with_name("cluster_job.py")
JOB_TIMEOUT = 300  # seconds: a safety net for each wait on the job, not an expected time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    """Whether ``pid`` runs; a zombie (dead, not yet reaped by its parent) does not."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def proc_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def pids_in_group(pgid):
    found = []
    for pid in proc_pids():
        try:
            if os.getpgid(pid) == pgid:
                found.append(pid)
        except ProcessLookupError:
            pass
    return found


def pids_working_in(directory):
    """Processes whose working directory is ``directory`` or below: every process of the
    cluster starts there (executors in their worker's dir), and so do their children, even those
    that left their process group (PySpark's Python daemon makes a group of its own)."""
    found = []
    for pid in proc_pids():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:  # gone, or a kernel thread
            continue
        if cwd == str(directory) or cwd.startswith(f"{directory}/"):
            found.append(pid)
    return found


def kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def tail(path, lines=40):
    return "".join(Path(path).read_text(errors="replace").splitlines(keepends=True)[-lines:])


class Job:
    """A run of cluster_job.py: its stdout lines arrive in a queue, stderr goes to a log."""

    def __init__(self, proc, log):
        self.proc, self.log = proc, log
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # end of output

    def go(self):
        """Let the job start its last search (it waits for a line on stdin)."""
        with self.proc.stdin:
            self.proc.stdin.write("go\n")

    def next_line(self, timeout=JOB_TIMEOUT):
        """The next line printed; fails if the job ends or says nothing for ``timeout`` s."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no output from the cluster job in {timeout} s; its log ends:\n"
                               f"{tail(self.log)}") from None
        if line is None:
            rc = self.proc.wait()
            raise AssertionError(f"the cluster job exited ({rc}); its log ends:\n{tail(self.log)}")
        return line

    def running(self):
        """Whether the job is still at work: alive, and nothing printed that was not read."""
        return self.proc.poll() is None and self.lines.empty()


class Cluster:
    """A standalone master and two workers, each leading a process group of its own (a worker's
    executors are its children, in its group), all working under ``base``."""

    def __init__(self, base):
        self.base = base
        self.master_port, self.master_ui = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{self.master_port}"
        self.env = dict(os.environ, SPARK_HOME=str(SPARK_HOME), SPARK_LOCAL_IP="127.0.0.1",
                        PYSPARK_PYTHON=sys.executable, SPARK_DAEMON_JAVA_OPTS=QUICK_JVM)
        self.procs = {}  # name -> Popen
        self.seen = set()  # every pid of the cluster seen so far

    def _spawn(self, name, args, env=None, pipes=False):
        """Start ``args`` in a new session (so a process group) working in ``base``; stderr, and
        stdout unless ``pipes``, go to ``base/name.log``. With ``pipes``, stdin and stdout are
        text pipes."""
        log = self.base / f"{name}.log"
        pipe = subprocess.PIPE if pipes else None
        with open(log, "wb") as out:
            self.procs[name] = subprocess.Popen(
                args, cwd=self.base, env=env or self.env, stdin=pipe or subprocess.DEVNULL,
                stdout=pipe or out, stderr=out, start_new_session=True, text=pipes)
        self.seen.add(self.procs[name].pid)
        return self.procs[name], log

    def start(self):
        """Start the master and the workers, and wait until both workers have registered."""
        spark_class = str(SPARK_HOME / "bin" / "spark-class")
        self._spawn("master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(self.master_port), "--webui-port", str(self.master_ui)])
        for i in range(2):
            work_dir = self.base / f"worker{i}"
            work_dir.mkdir()
            self._spawn(f"worker{i}", [spark_class, "org.apache.spark.deploy.worker.Worker",
                                       "--host", "127.0.0.1", "--webui-port", str(free_port()),
                                       "--cores", "1", "--memory", "1g", self.url],
                        env=dict(self.env, SPARK_WORKER_DIR=str(work_dir)))
        wait_until(lambda: self.alive_workers() == 2, 120, "two workers registered with the master")

    def alive_workers(self):
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited; its log ends:\n{tail(self.base / f'{name}.log')}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.master_ui}/json/", timeout=5) as r:
                return json.load(r)["aliveworkers"]
        except OSError:  # the master's UI is not up yet
            return 0

    def start_job(self, *args):
        proc, log = self._spawn("job", [sys.executable, str(JOB), self.url, *args], pipes=True)
        return Job(proc, log)

    def kill_worker(self, i):
        """SIGKILL worker ``i`` and its executor, at once; returns their pids."""
        worker = self.procs[f"worker{i}"]
        pids = pids_in_group(worker.pid)
        self.seen.update(pids)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        return pids

    def processes(self):
        """Pids of the cluster still running: the started processes, their groups' members, and
        anything working under ``base``."""
        pids = {proc.pid for proc in self.procs.values() if proc.poll() is None}
        for proc in self.procs.values():
            pids.update(pids_in_group(proc.pid))
        pids.update(pids_working_in(self.base))
        pids = {pid for pid in pids if alive(pid)}
        self.seen.update(pids)
        return pids

    def stop(self):
        """Kill everything (driver, master, workers, executors, Python daemons) and wait."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        kill(self.processes())
        for proc in self.procs.values():
            proc.wait(timeout=30)
        wait_until(lambda: not any(alive(pid) for pid in self.seen), 30, "the cluster's processes to end")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
    assert cluster.processes() == set()
    assert [pid for pid in cluster.seen if alive(pid)] == []


def event_log(directory):
    """The events of the one application whose Spark event log (JSON lines) is in ``directory``."""
    (path,) = Path(directory).iterdir()
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(cluster, spark, tmp_path_factory):
    """Runs cluster_job.py once and, while it runs, the same searches here; kills worker 0 as soon
    as the job's last search has finished its first trial. Returns what both tests check."""
    events = tmp_path_factory.mktemp("events")
    job = cluster.start_job(str(events))
    data = breast_cancer(spark)
    # A grid point's metric does not depend on the other points: one local run of LOSS_GRID
    # gives the expected metrics of both cluster grids.
    local_grid = dict(zip(LOSS_GRID, grid_search(LOSS_GRID, parallelism=2).fit(data).avgMetrics))
    local_tpe = summary(tpe_search().fit(data))

    job.go()  # the job holds its last search back until we are ready to kill
    assert job.next_line() == SEARCH_STARTED
    # into the search: its first trial done, its second running, two still to come
    assert job.next_line() == TRIAL_FINISHED
    running_at_kill = job.running()
    killed = cluster.kill_worker(0)
    remote = json.loads(job.next_line())
    assert job.proc.wait(timeout=60) == 0, tail(job.log)
    print(f"cluster job seconds: {remote['seconds']}")
    return {"local_grid": local_grid, "local_tpe": local_tpe, "remote": remote,
            "running_at_kill": running_at_kill, "killed": killed, "events": event_log(events)}


def test_grid_and_tpe_on_the_cluster_match_local_runs(runs):
    remote = runs["remote"]
    assert remote["executorsBeforeLoss"] == 2
    assert [t["regParam"] for t in remote["grid"]["trials"]] == COMPARE_GRID
    expected = [runs["local_grid"][reg] for reg in COMPARE_GRID]
    assert remote["grid"]["avgMetrics"] == pytest.approx(expected, rel=0, abs=1e-9)
    # Same seed, one trial at a time: TPE proposes exactly the same settings, in the same order.
    local_tpe = runs["local_tpe"]
    assert [t["regParam"] for t in remote["tpe"]["trials"]] == [t["regParam"] for t in local_tpe["trials"]]
    assert len({t["regParam"] for t in local_tpe["trials"]}) == 4
    assert remote["tpe"]["avgMetrics"] == pytest.approx(local_tpe["avgMetrics"], rel=0, abs=1e-9)
    for result in (remote["grid"], remote["tpe"]):
        assert [t["status"] for t in result["trials"]] == ["ok"] * len(result["trials"])


def test_losing_a_worker_mid_search_loses_no_trial(runs):
    assert runs["running_at_kill"], "the search ended before the worker was killed"
    assert len(runs["killed"]) >= 2  # the worker and its executor
    assert not any(alive(pid) for pid in runs["killed"])
    remote = runs["remote"]
    assert remote["executorsAfterLoss"] == 1
    trials = remote["loss"]["trials"]
    assert [t["trialId"] for t in trials] == list(range(len(LOSS_GRID)))
    assert [t["status"] for t in trials] == ["ok"] * len(LOSS_GRID)
    assert [t["regParam"] for t in trials] == LOSS_GRID
    expected = [runs["local_grid"][reg] for reg in LOSS_GRID]
    assert remote["loss"]["avgMetrics"] == pytest.approx(expected, rel=0, abs=1e-9)
    # The driver saw the executor go, and Spark ran the lost work again on the other one.
    removed = [e for e in runs["events"] if e["Event"] == "SparkListenerExecutorRemoved"]
    assert len(removed) == 1
    failed = [e["Task End Reason"]["Reason"] for e in runs["events"]
              if e["Event"] == "SparkListenerTaskEnd" and e["Task End Reason"]["Reason"] != "Success"]
    print(f"executor removed: {removed[0].get('Removed Reason')}; failed tasks: {failed}")
