"""Settings are built once from the environment and validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from chaperone.settings import Settings
from chaperone.store.db import create_store


def test_home_comes_from_the_option_then_the_environment_then_the_default(tmp_path: Path) -> None:
    env = {"CHAPERONE_HOME": str(tmp_path / "env")}
    assert Settings.from_environment(env, home=tmp_path / "opt").home == tmp_path / "opt"
    assert Settings.from_environment(env).home == tmp_path / "env"
    assert Settings.from_environment({}).home == Path(".chaperone")


def test_postgresql_urls_use_psycopg_and_other_urls_are_refused() -> None:
    url = "postgresql://u@db.example/chaperone"
    settings = Settings.from_environment({"CHAPERONE_DATABASE_URL": url})
    assert settings.store_url == "postgresql+psycopg://u@db.example/chaperone"
    with pytest.raises(ValidationError, match="sqlite:// or postgresql://"):
        Settings.from_environment({"CHAPERONE_DATABASE_URL": "mysql://x"})
    with pytest.raises(ValidationError, match="unknown phone region"):
        Settings.from_environment({"CHAPERONE_DEFAULT_REGION": "XX"})


def test_the_sqlite_store_lives_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    create_store(settings).close()
    assert (settings.home / "chaperone.db").is_file()


def test_every_setting_can_come_from_the_environment() -> None:
    env = {
        "CHAPERONE_TIMEZONE": "America/Chicago",
        "CHAPERONE_INGEST_MAX_MESSAGE_BYTES": "1000",
        "CHAPERONE_INGEST_MAX_NESTING": "5",
        "CHAPERONE_INGEST_MAX_PARTS": "50",
        "CHAPERONE_INGEST_BATCH_SIZE": "10",
        "CHAPERONE_DEFAULT_REGION": "gb",
    }
    settings = Settings.from_environment(env)
    assert (settings.timezone, settings.default_region) == ("America/Chicago", "GB")
    assert (settings.ingest_max_message_bytes, settings.ingest_max_nesting) == (1000, 5)
    assert (settings.ingest_max_parts, settings.ingest_batch_size) == (50, 10)
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings.from_environment({"CHAPERONE_TIMEZONE": "Mars/Olympus"})
