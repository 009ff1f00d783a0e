"""`chaperone gateway --workers 2`: one process accepts, two answer, as Postfix sees it.

Connections are shared between the workers, each answers with the full decisions,
a worker killed is started again while the other keeps answering, SIGHUP reloads
both, and SIGTERM stops them all with every decision recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaperone.common.problems import ChaperoneError
from chaperone.gateway import workers
from chaperone.lake import decisions
from chaperone.lake.writer import lake_path
from chaperone.settings import Settings
from tests.audit.world import load_world
from tests.conftest import Cli
from tests.gateway.test_policy_service import request
from tests.gateway.test_postfix import RUN_GATEWAY, wait_for

OFF_CHANNEL = ("t1home@gmail.com", "s1@students.district.k12.us")
COMPLIANT = ("t1@district.k12.us", "s1@students.district.k12.us")


class Gateway:
    """``chaperone gateway --workers 2`` on a Unix socket, its log in a file."""

    def __init__(self, home: Path, folder: Path, *extra: str) -> None:
        self.path = folder / "policy.sock"
        self.log = folder / "gateway.log"
        env = {**os.environ, "CHAPERONE_HOME": str(home)}
        env.pop("CHAPERONE_DATABASE_URL", None)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", RUN_GATEWAY, "gateway", "--workers", "2",
                 "--listen", f"unix:{self.path}", *extra],
                env=env, stdout=subprocess.DEVNULL, stderr=log)
        self.wait_for_log(r"worker 1 started", 30)

    def wait_for_log(self, pattern: str, seconds: float = 20, count: int = 1) -> list[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.findall(pattern, self.log.read_text("utf-8", "replace"))
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in the log:\n{self.log.read_text()}")

    def connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(str(self.path))
        return sock

    def worker_pids(self) -> dict[int, int]:
        text = self.log.read_text("utf-8", "replace")
        return {int(slot): int(pid)
                for slot, pid in re.findall(r"worker (\d+) started \(pid (\d+)\)", text)}


def ask(sock: socket.socket, sender: str, recipient: str, instance: str) -> str:
    sock.sendall(request(sender, recipient, instance=instance))
    reply = b""
    while not reply.endswith(b"\n\n"):
        chunk = sock.recv(4096)
        assert chunk, "connection closed without an answer"
        reply += chunk
    return reply.decode()


@pytest.fixture
def gateway(cli: Cli, settings: Settings, tmp_path: Path) -> Iterator[Gateway]:
    load_world(cli, tmp_path / "world")
    running = Gateway(settings.home, tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait(10)


def test_two_workers_share_the_connections_and_record_every_decision(
    gateway: Gateway, settings: Settings
) -> None:
    gateway.wait_for_log(r"listening on unix:\S+ \(enforce mode, 2 workers, uvloop\)")
    connections = [gateway.connect() for _ in range(6)]
    for n, sock in enumerate(connections):
        assert ask(sock, *OFF_CHANNEL, instance=f"off{n}").startswith("action=550 5.7.1 Policy")
        assert ask(sock, *COMPLIANT, instance=f"ok{n}") == "action=DUNNO\n\n"
    # Each worker judged some of the mail (its log lines carry its slot).
    assert set(gateway.wait_for_log(r"chaperone\.gateway\[(\d)\] ABC 9052-A-direct", count=6)) \
        == {"0", "1"}
    for sock in connections:
        sock.close()
    gateway.process.send_signal(signal.SIGTERM)
    assert gateway.process.wait(60) == 0
    logged = decisions.recent(lake_path(settings.home), limit=50)
    assert sorted(d["instance"] for d in logged) == sorted(
        [f"off{n}" for n in range(6)] + [f"ok{n}" for n in range(6)])
    assert {d["action"] for d in logged if d["instance"].startswith("off")} == {"REJECT"}


def test_a_killed_worker_is_started_again_and_sighup_reloads_both(gateway: Gateway) -> None:
    first = gateway.worker_pids()
    os.kill(first[0], signal.SIGKILL)
    gateway.wait_for_log(r"worker 0 \(pid \d+\) ended", 10)
    gateway.wait_for_log(r"worker 0 started", 20, count=2)
    assert gateway.worker_pids()[0] != first[0]
    for n in range(4):  # new connections are answered, whichever worker takes them
        with gateway.connect() as sock:
            assert ask(sock, *OFF_CHANNEL, instance=f"again{n}").startswith("action=550 5.7.1")
    gateway.process.send_signal(signal.SIGHUP)
    assert set(gateway.wait_for_log(r"gateway\[(\d)\] reloaded the directory", count=2)) \
        == {"0", "1"}
    with gateway.connect() as sock:
        assert ask(sock, *COMPLIANT, instance="after") == "action=DUNNO\n\n"


def test_workers_that_cannot_start_stop_the_gateway_with_an_error(tmp_path: Path) -> None:
    """A worker that ends before it serves is started again, but not for ever."""
    settings = Settings(home=tmp_path, gateway_workers=2)
    failing = (sys.executable, "-c", "raise SystemExit(3)")

    async def serve() -> None:
        await workers.supervise(settings, f"unix:{tmp_path / 'policy.sock'}", [],
                                asyncio.Event(), None, command=failing)

    started = time.monotonic()
    with pytest.raises(ChaperoneError, match="workers could not start"):
        asyncio.run(serve())
    assert time.monotonic() - started < 30


def test_the_http_endpoint_answers_beside_the_workers(
    cli: Cli, settings: Settings, tmp_path: Path
) -> None:
    load_world(cli, tmp_path / "world")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = tmp_path / "decide.key"
    key.write_text("k" * 40 + "\n")
    key.chmod(0o600)
    os.environ["CHAPERONE_DECIDE_API_KEY_FILE"] = str(key)
    try:
        running = Gateway(settings.home, tmp_path, "--http", f"127.0.0.1:{port}")
    finally:
        del os.environ["CHAPERONE_DECIDE_API_KEY_FILE"]
    try:
        wait_for(port)
        body = json.dumps({"sender": OFF_CHANNEL[0], "recipients": [OFF_CHANNEL[1]],
                           "channel_type": "email"}).encode()
        asked = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/decide", data=body,
                                       headers={"content-type": "application/json",
                                                "authorization": f"Bearer {'k' * 40}"})
        with urllib.request.urlopen(asked, timeout=30) as reply:
            answer = json.loads(reply.read())
        assert (answer["action"], answer["rule_id"]) == ("REJECT", "9052-A-direct")
        with running.connect() as sock:
            assert ask(sock, *COMPLIANT, instance="web") == "action=DUNNO\n\n"
    finally:
        running.process.terminate()
        running.process.wait(30)
