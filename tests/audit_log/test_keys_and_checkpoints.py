"""The audit log's key lives in a file outside the store, and its head is checkpointed
outside the store: once a day by itself, and whenever `audit-log checkpoint` is run."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select, text
from sqlalchemy.orm import Session

from chaperone.audit_log import service as trail
from chaperone.common.problems import ChaperoneError
from chaperone.settings import Settings
from chaperone.store.db import Store, create_store
from tests.audit_log.test_tamper import fill, truncate
from tests.conftest import Cli

pytestmark = pytest.mark.store


def test_the_key_file_is_made_private_on_first_use_and_never_stored(
    settings: Settings, store: Store
) -> None:
    key_file = settings.home / "audit-log.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    fill(store)
    key = key_file.read_text().strip()
    tables = MetaData()
    tables.reflect(store.engine)
    with store.engine.connect() as db:
        stored = " ".join(
            str(row) for table in tables.sorted_tables for row in db.execute(select(table))
        )
    assert len(key) == 64 and key not in stored and "S1" in stored
    assert repr(bytes.fromhex(key))[2:-1] not in repr(store)  # nor in a traceback


def test_the_key_file_setting_and_variable(tmp_path: Path, database_url: str | None) -> None:
    env = {
        "CHAPERONE_AUDIT_LOG_KEY_FILE": str(tmp_path / "keys" / "log.key"),
        "CHAPERONE_AUDIT_LOG_CHECKPOINT_FILE": str(tmp_path / "elsewhere" / "log.checkpoints"),
        "CHAPERONE_AUDIT_LOG_SYSLOG": "false",
    }
    if database_url:
        env["CHAPERONE_DATABASE_URL"] = database_url
    settings = Settings.from_environment(env, home=tmp_path / "home")
    store = create_store(settings)
    fill(store)
    store.close()
    assert (tmp_path / "keys" / "log.key").is_file()
    assert (tmp_path / "elsewhere" / "log.checkpoints").is_file()
    assert not (tmp_path / "home" / "audit-log.key").exists()


def test_a_key_file_every_user_can_read_is_refused(settings: Settings, cli: Cli) -> None:
    cli.ok("init")
    (settings.home / "audit-log.key").chmod(0o644)
    failed = cli("audit-log", "verify")
    assert failed.code == 1 and "chmod 600" in failed.err


def test_a_session_without_the_key_cannot_write_the_log(store: Store) -> None:
    with Session(store.engine) as session, pytest.raises(ChaperoneError, match="key"):
        trail.record(session, actor="x", action="view", object_type="person", object_id="1")


def test_another_key_does_not_verify_the_log(settings: Settings, store: Store, cli: Cli) -> None:
    fill(store)
    (settings.home / "audit-log.key").write_text("ab" * 32 + "\n")
    failed = cli("audit-log", "verify")
    assert failed.code == 1 and "from entry 1:" in failed.err
    assert "is this the key file" in failed.out


def checkpoints(settings: Settings) -> list[dict[str, object]]:
    lines = (settings.home / "audit-log.checkpoints").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_the_first_entry_of_each_day_is_checkpointed_once_committed(
    settings: Settings, store: Store, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [dt.datetime.now(dt.UTC) - dt.timedelta(days=1)]
    monkeypatch.setattr(trail, "utcnow", lambda: clock[0])
    fill(store)  # six entries yesterday: entry 1 is checkpointed
    clock[0] = dt.datetime.now(dt.UTC)
    with pytest.raises(RuntimeError), store.transaction() as session:
        trail.record(session, actor="x", action="view", object_type="person", object_id="7")
        raise RuntimeError("the work failed: entry 7 is rolled back, and not checkpointed")
    assert [c["seq"] for c in checkpoints(settings)] == [1]
    with store.transaction() as session:
        for n in (7, 8):
            trail.record(session, actor="x", action="view", object_type="person", object_id=str(n))
    assert [c["seq"] for c in checkpoints(settings)] == [1, 7]  # today's first: 7 (written again)
    with store.engine.begin() as db:
        truncate(db, 6)
    failed = cli("audit-log", "verify")
    assert failed.code == 1 and "from entry 7:" in failed.err
    assert "recorded entry 7 (the newest entries were deleted)" in failed.out


def test_checkpoint_refuses_to_vouch_for_a_broken_or_empty_log(
    settings: Settings, store: Store, cli: Cli
) -> None:
    refused = cli("audit-log", "checkpoint")
    assert refused.code == 1 and "empty" in refused.err
    fill(store)
    with store.engine.begin() as db:
        db.execute(text("UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 2"))
    refused = cli("audit-log", "checkpoint")
    assert refused.code == 1 and "first bad entry 2" in refused.err
    assert [c["seq"] for c in checkpoints(settings)] == [1]


def test_an_edited_checkpoint_file_is_reported(settings: Settings, store: Store, cli: Cli) -> None:
    fill(store)
    with (settings.home / "audit-log.checkpoints").open("a") as out:
        out.write("seq 6 was fine, honestly\n")
    failed = cli("audit-log", "verify")
    assert failed.code == 1 and "audit-log.checkpoints:2: not a checkpoint" in failed.out
