"""A school's staff at once: `chaperone serve` answers 8 clients opening findings and cases
while `chaperone audit` and a roster import run again and again, with no server error and every view kept in an
intact audit log (SQLite in WAL mode with immediate transactions; PostgreSQL alike)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from chaperone.settings import Settings
from chaperone.store.db import open_store
from chaperone.store.models import TrailEntry
from tests.web.site import PASSWORD, World

pytestmark = pytest.mark.store

RUN = [sys.executable, "-c", "from chaperone.cli import main; main()"]
CLIENTS, ROUNDS, CASES = 8, 12, 4


def environment(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "CHAPERONE_HOME": str(settings.home),
           "CHAPERONE_WEB_SECURE_COOKIES": "false", "CHAPERONE_AUDIT_LOG_SYSLOG": "false"}
    env.pop("CHAPERONE_DATABASE_URL", None)
    if settings.database_url:
        env["CHAPERONE_DATABASE_URL"] = settings.database_url
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(world: World, web_settings: Settings,
           tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """`chaperone serve` on the district's copy (its lake too, so that audits find again what
    they found): its address, environment and log file."""
    shutil.copytree(world.home / "lake", web_settings.home / "lake")
    env, port, log = environment(web_settings), free_port(), tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([*RUN, "serve", "--port", str(port)], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "chaperone serve did not start"
                time.sleep(0.2)
        yield base, env, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def signed_in(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=120)
    answer = client.post("/api/v1/session",
                         json={"username": "compliance_officer", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client, str(answer.json()["csrf_token"])


def views(settings: Settings) -> int:
    """Views of findings and cases by the compliance officer in the audit log."""
    store = open_store(settings)
    try:
        with store.transaction() as session:
            return int(session.scalar(
                select(func.count()).select_from(TrailEntry).where(
                    TrailEntry.actor == "compliance_officer", TrailEntry.action == "view",
                    TrailEntry.object_type.in_(("finding", "case")))) or 0)
    finally:
        store.close()


def test_eight_clients_open_findings_and_cases_while_audits_and_imports_run(
    served: tuple[str, dict[str, str], Path], web_settings: Settings, world: World
) -> None:
    base, env, log = served
    client, csrf = signed_in(base)
    found = client.get("/api/v1/findings", params={"per_page": 100}).json()
    finding_ids = [f["finding_id"] for f in found["findings"]]
    assert len(finding_ids) >= CASES * 2, found
    case_ids = []
    for n in range(CASES):
        opened = client.post("/api/v1/cases", headers={"X-CSRF-Token": csrf},
                             json={"finding_ids": [finding_ids[n]]})
        assert opened.status_code == 201, opened.text
        case_ids.append(opened.json()["id"])
    client.close()
    before = views(web_settings)

    stop, audits = threading.Event(), Counter[str]()
    district = web_settings.home.parent / "district"
    shutil.copytree(world.home / "demo-input" / "district", district)
    loops = {"audit": ["audit"],
             "import": ["directory", "import", "oneroster", str(district / "roster")]}

    def again_and_again(name: str) -> None:
        while not stop.is_set():
            done = subprocess.run([*RUN, *loops[name]], env=env, capture_output=True,
                                  timeout=600)
            audits[f"{name} {'ok' if done.returncode == 0 else done.stderr.decode()[-300:]}"] += 1

    statuses: Counter[int] = Counter()
    failed: list[str] = []
    lock = threading.Lock()

    def browse(n: int) -> None:
        own, _csrf = signed_in(base)
        try:
            for r in range(ROUNDS):
                paths = (f"/findings/{finding_ids[(n * ROUNDS + r) % len(finding_ids)]}",
                         f"/cases/{case_ids[(n + r) % len(case_ids)]}")
                for path in paths:
                    answer = own.get(path)
                    with lock:
                        statuses[answer.status_code] += 1
                        if answer.status_code != 200:
                            failed.append(f"{path}: {answer.status_code} {answer.text[:300]}")
        finally:
            own.close()

    runners = [threading.Thread(target=again_and_again, args=(name,)) for name in loops]
    for runner in runners:
        runner.start()
    try:
        time.sleep(2)  # the audit is under way (reading the lake, then saving)
        clients = [threading.Thread(target=browse, args=(n,)) for n in range(CLIENTS)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=600)
    finally:
        stop.set()
        for runner in runners:
            runner.join(timeout=600)

    assert statuses == Counter({200: CLIENTS * ROUNDS * 2}), (statuses, failed[:3])
    assert set(audits) == {"audit ok", "import ok"}, audits  # each ran, and never failed
    assert views(web_settings) - before == CLIENTS * ROUNDS * 2  # every view kept
    verified = subprocess.run([*RUN, "audit-log", "verify"], env=env, capture_output=True)
    assert verified.returncode == 0, verified.stdout.decode() + verified.stderr.decode()
    assert "Traceback" not in log.read_text()
