"""The audit on a real Spark standalone cluster: a master and two workers started from the
installed PySpark on loopback, `chaperone audit --engine spark` against it, and the same
findings as DuckDB's."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit.world import load_world
from tests.conftest import Cli

pyspark = pytest.importorskip("pyspark", reason="the spark extra is not installed")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (make test installs Debian's headless JRE)",
                allow_module_level=True)

SPARK_HOME = Path(pyspark.__file__).parent
STARTUP = 90.0  # seconds for the master and both workers to register


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spark_env(work: Path) -> dict[str, str]:
    return {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(work / "logs"), "SPARK_WORKER_DIR": str(work / "work"),
            "PYSPARK_PYTHON": sys.executable}


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(SPARK_HOME / "bin" / "spark-class"), *args], env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(log: Path, text: str, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if log.exists() and log.read_text("utf-8", "replace").count(text) >= count:
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    pytest.fail(f"the Spark cluster did not start: {log}:\n{log.read_text('utf-8', 'replace')}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``spark://127.0.0.1:PORT`` and the master's log: a standalone master with two
    one-core workers."""
    work = tmp_path_factory.mktemp("spark-cluster")
    env = _spark_env(work)
    port = _free_port()
    master_log = work / "master.log"
    processes = [_start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                         "--port", str(port), "--webui-port", str(_free_port())],
                        master_log, env)]
    url = f"spark://127.0.0.1:{port}"
    try:
        _wait_for(master_log, "I have been elected leader", 1, processes[0])
        for n in range(2):
            processes.append(_start(
                ["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                 "--cores", "1", "--memory", "1g", "--webui-port", str(_free_port()),
                 "--work-dir", str(work / f"worker-{n}")],
                work / f"worker-{n}.log", env))
        _wait_for(master_log, "Registering worker", 2, processes[0])
        yield url, master_log
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, 15)
        for process in processes:
            process.wait(timeout=30)


def _findings(cli: Cli, folder: Path) -> set[tuple[str, str, str]]:
    out = folder / "findings.json"
    cli.ok("findings", "export", "--format", "json", "--out", out)
    return {(r["rule_id"], r["message_id"], r["subject_person_id"])
            for r in json.loads(out.read_text("utf-8"))}


def test_the_audit_on_a_standalone_cluster_finds_what_duckdb_finds(
    cli: Cli, tmp_path: Path, cluster: tuple[str, Path]
) -> None:
    url, master_log = cluster
    load_world(cli, tmp_path)
    env = {**_spark_env(tmp_path), "CHAPERONE_SPARK_MASTER": url,
           "CHAPERONE_HOME": os.environ["CHAPERONE_HOME"]}
    ran = subprocess.run(  # its own process: this one may already hold a local session
        [str(Path(sys.executable).parent / "chaperone"), "audit", "--engine", "spark",
         "--format", "json"], env=env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-4000:]
    on_spark = json.loads(ran.stdout)
    by_spark = _findings(cli, tmp_path)
    assert on_spark["engine"] == "spark" and on_spark["total"] == len(by_spark) > 0
    log = master_log.read_text("utf-8", "replace")  # the job ran on the cluster's workers
    assert "Registering app chaperone-audit" in log and log.count("Launching executor") >= 2
    again = json.loads(cli.ok("audit", "--engine", "duckdb", "--format", "json").out)
    assert (again["total"], again["added"], again["withdrawn"]) == (len(by_spark), 0, 0)
    assert _findings(cli, tmp_path) == by_spark
