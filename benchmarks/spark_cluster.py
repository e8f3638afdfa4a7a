"""A real Spark standalone cluster on loopback, from the installed pyspark: one master, N workers.

    with standalone_cluster(workers=2, cores=1, memory="3g", work=TMP) as cluster:
        ... run with --spark-master cluster.url ...

Each daemon is a child process started with ``bin/spark-class`` (pyspark's pip package has no sbin start
scripts), bound to 127.0.0.1 (``SPARK_LOCAL_IP``), logging into WORK/logs; all are stopped by their
process ids when the block ends, also when it raises. Spark's web UI answers on loopback only and is read
once, to wait until every worker has registered.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).resolve().parent
_LOOPBACK = "127.0.0.1"


@dataclass
class Cluster:
    """A running standalone cluster: its master URL, the daemons' process ids, the event log folder."""

    url: str
    ui: str
    conf_dir: Path
    event_log: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """Environment for a driver using the cluster: loopback, our Python, the event log settings."""
        return {
            **os.environ,
            "SPARK_LOCAL_IP": _LOOPBACK,
            "SPARK_CONF_DIR": str(self.conf_dir),
            "PYSPARK_PYTHON": sys.executable,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((_LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _daemon(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with everything it started
        )


def _alive_workers(ui: str) -> int:
    try:
        with urllib.request.urlopen(f"{ui}/json/", timeout=2) as answer:  # loopback: our own master
            return int(json.load(answer).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for proc in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def standalone_cluster(work: Path, workers: int = 2, cores: int = 1, memory: str = "3g") -> Iterator[Cluster]:
    """Start a master and ``workers`` workers of ``cores`` cores and ``memory`` each; stop them afterwards."""
    port, ui_port = _free_port(), _free_port()
    conf_dir, event_log = work / "conf", work / "events"
    conf_dir.mkdir(parents=True, exist_ok=True)
    event_log.mkdir(parents=True, exist_ok=True)
    # read by every driver started with SPARK_CONF_DIR=conf_dir: the event log the breakdown is made from
    (conf_dir / "spark-defaults.conf").write_text(
        f"spark.eventLog.enabled true\nspark.eventLog.dir file://{event_log}\n"
        "spark.eventLog.compress false\nspark.eventLog.rolling.enabled false\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": _LOOPBACK,
        "SPARK_CONF_DIR": str(conf_dir),
        "SPARK_WORKER_DIR": str(work / "worker"),
        "PYSPARK_PYTHON": sys.executable,
    }
    ui = f"http://{_LOOPBACK}:{ui_port}"
    cluster = Cluster(url=f"spark://{_LOOPBACK}:{port}", ui=ui, conf_dir=conf_dir, event_log=event_log)
    try:
        cluster.processes.append(
            _daemon(
                ["org.apache.spark.deploy.master.Master", "--host", _LOOPBACK, "--port", str(port),
                 "--webui-port", str(ui_port)],
                work / "logs" / "master.log",
                env,
            )
        )  # fmt: skip
        for i in range(workers):
            cluster.processes.append(
                _daemon(
                    ["org.apache.spark.deploy.worker.Worker", cluster.url, "--host", _LOOPBACK,
                     "--cores", str(cores), "--memory", memory, "--webui-port", str(_free_port())],
                    work / "logs" / f"worker-{i}.log",
                    env,
                )
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while _alive_workers(ui) < workers:
            dead = [p for p in cluster.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(p.read_text()[-1500:] for p in sorted((work / "logs").glob("*.log")))
                raise RuntimeError(f"the standalone cluster did not start:\n{logs}")
            time.sleep(0.5)
        yield cluster
    finally:
        _stop(cluster.processes)
