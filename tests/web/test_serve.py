"""`chaperone serve` as an administrator starts it: one process, or several workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_answers_on_its_port(tmp_path: Path, workers: str) -> None:
    port = _free_port()
    env = {**os.environ, "CHAPERONE_HOME": str(tmp_path / "home")}
    env.pop("CHAPERONE_DATABASE_URL", None)
    run = [sys.executable, "-c", "from chaperone.cli import main; main()"]
    subprocess.run([*run, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    command = [
        *run,
        "serve",
        "--port",
        str(port),
        "--workers",
        workers,
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "chaperone serve did not start"
                time.sleep(0.2)
        assert answer.status_code == 200 and "Sign in to Chaperone" in answer.text
        assert "content-security-policy" in answer.headers and "server" not in answer.headers
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/me").status_code == 401
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "GET /login" not in output  # no access log by default: URLs can carry names
