"""Fixtures for the web tests: the built district (once per run) and per-test copies."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chaperone.settings import Settings
from tests.conftest import PG_ENV
from tests.web.site import Web, World, build, copy_home, drop_database, new_database


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Built once: on SQLite, or on the run's PostgreSQL server when it provides one."""
    server = os.environ.get(PG_ENV)
    template = new_database(server, f"web_{uuid.uuid4().hex[:10]}") if server else None
    yield build(tmp_path_factory.mktemp("web-district") / "home", template)
    if template:
        drop_database(template)


@pytest.fixture
def web_settings(world: World, tmp_path: Path) -> Iterator[Settings]:
    settings = copy_home(world, tmp_path / "home")
    yield settings
    if settings.database_url:
        drop_database(settings.database_url)


@pytest.fixture
def web(web_settings: Settings) -> Iterator[Callable[[str | None], Web]]:
    """web("reviewer") is a client signed in as that user; web(None) is signed out."""
    opened: list[Web] = []

    def make(username: str | None) -> Web:
        client = Web(web_settings)
        opened.append(client)
        return client.sign_in(username) if username else client

    yield make
    for client in opened:
        client.close()
