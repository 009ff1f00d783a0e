"""Fixtures for the web tests: the built district (once per run) and per-test copies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chaperone.settings import Settings
from tests.web.site import Web, World, build, copy_home


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build(tmp_path_factory.mktemp("web-district") / "home")


@pytest.fixture
def web_settings(world: World, tmp_path: Path) -> Settings:
    return copy_home(world, tmp_path / "home")


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
