"""Only `chaperone init` creates a store and only `init` and `migrate` change its schema, under
a lock; every other command, and `serve`, refuse a missing or outdated store in one line and
create nothing, even when the store goes away under a running server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from chaperone.settings import Settings
from chaperone.store.db import (
    alembic_config,
    audit_log_keys,
    current_revision,
    head_revision,
    where,
)
from tests.conftest import Cli
from tests.web.site import drop_database, new_database

pytestmark = pytest.mark.store

RUN = [sys.executable, "-c", "from chaperone.cli import main; main()"]
OLD = "0008"


def environment(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "CHAPERONE_HOME": str(settings.home), "COLUMNS": "200",
           "CHAPERONE_WEB_SECURE_COOKIES": "false", "CHAPERONE_AUDIT_LOG_SYSLOG": "false"}
    env.pop("CHAPERONE_DATABASE_URL", None)
    if settings.database_url:
        env["CHAPERONE_DATABASE_URL"] = settings.database_url
    return env


def tables(settings: Settings) -> list[str]:
    """The store's tables (none for an empty database or a missing file)."""
    if not settings.database_url and not (settings.home / "chaperone.db").exists():
        return []
    engine = create_engine(settings.store_url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def at_revision(settings: Settings, revision: str) -> None:
    """A store made by an older Chaperone, at `revision`."""
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.store_url)
    try:
        config = alembic_config(engine, audit_log_key=audit_log_keys(settings).key)
        command.upgrade(config, revision)
    finally:
        engine.dispose()


def revision(settings: Settings) -> str | None:
    engine = create_engine(settings.store_url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


@pytest.fixture
def bare(settings: Settings, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The command line on a home where `chaperone init` was never run."""
    return Cli(settings, capsys, monkeypatch, init=False)


@pytest.mark.parametrize("args", [
    ["directory", "stats"], ["users", "list"], ["audit"], ["audit-log", "verify"],
    ["registry", "show"], ["serve"], ["gateway"], ["migrate"],
])
def test_a_command_on_a_missing_store_says_so_in_one_line_and_creates_nothing(
    bare: Cli, settings: Settings, args: list[str]
) -> None:
    result = bare(*args)
    assert result.code == 1
    assert result.err.count("\n") == 1 and "run `chaperone init`" in result.err, result.err
    assert result.err.startswith(
        "error: no store at " if not settings.database_url else "error: the database ")
    assert not settings.home.exists() or not (settings.home / "chaperone.db").exists()
    assert tables(settings) == []


def test_init_creates_the_store_and_then_every_command_opens_it(
    bare: Cli, settings: Settings
) -> None:
    created = bare.ok("init")
    assert "applying" in created.out
    assert created.out.rstrip().endswith(f"store ready at {where(settings)}")
    assert revision(settings) == head_revision()
    assert bare.ok("users", "list").code == 0
    again = bare.ok("init")
    assert "applying" not in again.out


def test_a_store_at_an_older_revision_is_refused_until_migrated(
    bare: Cli, settings: Settings
) -> None:
    at_revision(settings, OLD)
    refused = bare("users", "list")
    assert refused.code == 1 and refused.err.count("\n") == 1
    assert f"schema revision {OLD}, this version needs {head_revision()}" in refused.err
    assert "run `chaperone migrate`" in refused.err
    assert revision(settings) == OLD  # refusing changed nothing
    migrated = bare.ok("migrate")
    lines = migrated.out.splitlines()
    assert f"schema {OLD} -> {head_revision()}" in lines[0] and "applying" in lines[0]
    assert [line.split()[0] for line in lines[1:-1]] == ["0009", "0010"]
    assert lines[-1].endswith(f"schema {head_revision()} (current)")
    assert revision(settings) == head_revision()
    assert bare.ok("users", "list").code == 0
    assert bare.ok("migrate").out.count("\n") == 1  # nothing left to do


def _all_at_once(settings: Settings, args: list[str], count: int = 8) -> list[tuple[int, str]]:
    env = environment(settings)
    processes = [subprocess.Popen([*RUN, *args], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT) for _ in range(count)]
    return [(p.wait(timeout=300), (p.stdout.read() if p.stdout else b"").decode())
            for p in processes]


def test_eight_migrate_processes_at_once_all_succeed(settings: Settings) -> None:
    at_revision(settings, OLD)
    finished = _all_at_once(settings, ["migrate"])
    assert [code for code, _out in finished] == [0] * 8, finished
    assert sum("applying" in out for _code, out in finished) == 1
    assert revision(settings) == head_revision()


def test_eight_init_processes_at_once_on_a_new_store_all_succeed(settings: Settings) -> None:
    finished = _all_at_once(settings, ["init"])
    assert [code for code, _out in finished] == [0] * 8, finished
    assert sum("applying" in out for _code, out in finished) == 1
    assert revision(settings) == head_revision()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_store_deleted_under_serve_is_a_one_line_failure_and_nothing_is_created(
    cli: Cli, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAPERONE_NEW_PASSWORD", "correct horse battery staple")
    cli.ok("users", "create", "admin", "--role", "admin")
    env, port, log = environment(settings), _free_port(), tmp_path / "serve.log"
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
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        client = httpx.Client(base_url=base, timeout=60)
        signed = client.post("/api/v1/session", json={
            "username": "admin", "password": "correct horse battery staple"})
        assert signed.status_code == 200, signed.text
        assert client.get("/api/v1/me").status_code == 200

        if settings.database_url:
            drop_database(settings.database_url)
        else:
            for name in ("chaperone.db", "chaperone.db-wal", "chaperone.db-shm"):
                (settings.home / name).unlink(missing_ok=True)
        for path in ("/api/v1/me", "/findings", "/api/v1/findings"):
            answer = client.get(path)
            assert answer.status_code == 503, (path, answer.status_code, answer.text[:300])
            assert "store is not available" in answer.text
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    logged = log.read_text()
    assert "Traceback" not in logged
    failures = [line for line in logged.splitlines() if "store unavailable" in line]
    assert len(failures) == 3, logged
    assert not (settings.home / "chaperone.db").exists()

    restarted = subprocess.run([*RUN, "serve", "--port", str(port)], env=env,
                               capture_output=True, text=True, timeout=60)
    assert restarted.returncode == 1
    assert restarted.stderr.count("\n") == 1 and restarted.stderr.startswith("error: "), (
        restarted.stderr)
    assert not (settings.home / "chaperone.db").exists()
    if settings.database_url:  # for the fixture to drop
        new_database(settings.database_url, settings.database_url.rsplit("/", 1)[1])


def test_the_gateways_reload_check_on_a_missing_store_creates_nothing(settings: Settings) -> None:
    from chaperone.gateway.service import store_version
    from chaperone.store.db import StoreNotReady

    with pytest.raises(StoreNotReady, match="run `chaperone init`"):
        store_version(settings)
    assert tables(settings) == [] and not (settings.home / "chaperone.db").exists()


def test_a_store_from_a_newer_version_is_refused_by_every_command_in_one_line(
    cli: Cli, settings: Settings
) -> None:
    engine = create_engine(settings.store_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    engine.dispose()
    for args in (["users", "list"], ["migrate"], ["init"]):
        refused = cli(*args)
        assert refused.code == 1 and refused.err.count("\n") == 1, refused.err
        assert "schema revision 0099, which this version of Chaperone does not know" in (
            refused.err)
    assert revision(settings) == "0099"
