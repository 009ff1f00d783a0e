"""Shared fixtures: a fresh store per test (SQLite, or PostgreSQL when the run provides one),
the `chaperone` command run in-process, and generated sample districts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chaperone.cli import main
from chaperone.demo.district import SampleDistrict, generate
from chaperone.settings import Settings
from chaperone.store.db import Store, create_store


def _shared() -> Path:
    """../shared beside the checkout, or where CHAPERONE_SHARED points (clones elsewhere)."""
    candidates = [
        os.environ.get("CHAPERONE_SHARED", ""),
        Path(__file__).resolve().parents[2] / "shared",
        "/work/shared",
    ]
    for candidate in candidates:
        if candidate and Path(candidate, "corpora").is_dir():
            return Path(candidate)
    return Path(__file__).resolve().parents[2] / "shared"


SHARED = _shared()
CORPORA = SHARED / "corpora"
PG_ENV = "CHAPERONE_TEST_DATABASE_URL"


def corpus(name: str) -> Path:
    """A folder of ../shared/corpora, or a clean skip with the reason when it is absent."""
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"corpus {name} not present at {CORPORA}")
    return path


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """A new, empty PostgreSQL database when the run provides a server; else None (SQLite)."""
    server = os.environ.get(PG_ENV)
    if not server:
        yield None
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        server.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """Settings for one test: its own data folder and its own database."""
    return Settings(home=tmp_path / "home", database_url=database_url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The test's store, created as `chaperone init` creates it."""
    opened = create_store(settings)
    yield opened
    opened.close()


@dataclass
class Result:
    """What a command printed and its exit code."""

    code: int
    out: str
    err: str


class Cli:
    """Runs `chaperone` in-process against the test's settings, like a user at a shell who
    has run `chaperone init` (`init=False`: a home where nothing was created yet)."""

    def __init__(
        self,
        settings: Settings,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        *,
        init: bool = True,
    ) -> None:
        self.capsys = capsys
        if init:
            create_store(settings).close()
        monkeypatch.setenv("CHAPERONE_HOME", str(settings.home))
        monkeypatch.setenv("COLUMNS", "200")
        if settings.database_url:
            monkeypatch.setenv("CHAPERONE_DATABASE_URL", settings.database_url)
        else:
            monkeypatch.delenv("CHAPERONE_DATABASE_URL", raising=False)

    def __call__(self, *args: str | Path) -> Result:
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main([str(a) for a in args])
        captured = self.capsys.readouterr()
        code = exited.value.code
        return Result(code if isinstance(code, int) else 1, captured.out, captured.err)

    def ok(self, *args: str | Path) -> Result:
        """Run a command that must succeed."""
        result = self(*args)
        assert result.code == 0, result.err or result.out
        return result


@pytest.fixture
def cli(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """The command line, bound to this test's data folder and database."""
    return Cli(settings, capsys, monkeypatch)


@pytest.fixture(scope="session")
def small_district(tmp_path_factory: pytest.TempPathFactory) -> SampleDistrict:
    """A small generated district (files only; tests must not modify them)."""
    return generate(tmp_path_factory.mktemp("district"), seed=7, students=120, staff=20)
