"""The audit log: every view and change is written, and any edit or deletion is detected."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, select, update

from chaperone.audit_log import service as trail
from chaperone.settings import Settings
from chaperone.store.models import TrailEntry, TrailHead
from tests.conftest import Cli
from tests.web.site import Web, World

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test


def _activity(web: Callable[[str | None], Web], world: World) -> Web:
    officer = web("compliance_officer")
    officer.client.get(f"/findings/{world.finding_a}")
    officer.client.get(f"/people/{world.student_a}")
    officer.post(f"/api/v1/findings/{world.finding_a}/reveal", json={"reason": "investigation"})
    officer.post(
        "/api/v1/findings/review",
        json={"finding_ids": [world.finding_b], "status": "dismissed", "note": "known vendor"},
    )
    return officer


def test_views_reveals_and_changes_are_recorded_with_the_people_they_touch(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = _activity(web, world)
    entries = officer.client.get("/api/v1/audit-log?limit=20").json()
    actions = [(e["action"], e["object_type"]) for e in entries]
    for wanted in [
        ("view", "finding"),
        ("view", "person"),
        ("reveal", "finding"),
        ("review", "finding"),
        ("sign-in", "user"),
    ]:
        assert wanted in actions
    reveal = next(e for e in entries if e["action"] == "reveal")
    assert reveal["detail"] == "investigation" and reveal["actor"] == "compliance_officer"
    record = officer.client.get(f"/api/v1/people/{world.student_a}/access-log").json()
    assert [e["action"] for e in record][-1:] == ["view"] and all(
        world.student_a in e["person_ids"] for e in record
    )
    assert officer.client.get("/api/v1/audit-log/verify").json()["ok"] is True


@pytest.mark.parametrize("tamper", ["edit", "delete-middle", "delete-newest", "insert"])
def test_verify_detects_tampering(
    tamper: str, web: Callable[[str | None], Web], world: World, web_settings: Settings
) -> None:
    officer = _activity(web, world)
    store = officer.app.state.store
    with store.transaction() as session:
        newest = session.scalar(select(TrailEntry.seq).order_by(TrailEntry.seq.desc()).limit(1))
        assert newest and newest >= 4
        if tamper == "edit":
            session.execute(
                update(TrailEntry).where(TrailEntry.seq == 2).values(actor="someone else")
            )
        elif tamper == "delete-middle":
            session.execute(delete(TrailEntry).where(TrailEntry.seq == 2))
        elif tamper == "delete-newest":
            session.execute(delete(TrailEntry).where(TrailEntry.seq == newest))
        else:
            row = session.get(TrailEntry, newest)
            assert row is not None
            session.add(
                TrailEntry(
                    seq=newest + 1,
                    at=row.at,
                    actor="intruder",
                    action="view",
                    object_type="person",
                    object_id="x",
                    person_ids="",
                    detail="",
                    prev_hash=row.hash,
                    hash="0" * 64,
                )
            )
    with store.transaction() as session:
        check = trail.verify(session)
    assert not check.ok and check.problems
    answer = officer.client.get("/api/v1/audit-log/verify").json()
    assert answer["ok"] is False
    page = officer.client.get("/audit-log").text
    assert "tampered" in page


def test_the_command_line_verifies_and_exits_1_on_tampering(
    cli: Cli, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chaperone.store.db import open_store

    store = open_store(settings)
    with store.transaction() as session:
        for n in range(3):
            trail.record(
                session, actor="cli", action="export", object_type="findings", object_id=str(n)
            )
    assert "3 entries" in cli.ok("audit-log", "verify").out
    with store.transaction() as session:
        session.execute(update(TrailHead).values(seq=2))
    failed = cli("audit-log", "verify")
    assert failed.code == 1 and "head names entry 2" in failed.out
    store.close()


def test_a_directory_search_is_recorded_for_everyone_it_lists(
    web: Callable[[str | None], Web], world: World
) -> None:
    principal = web("principal")
    listed = principal.client.get(f"/api/v1/people?q={world.student_a}").json()
    assert [p["person_id"] for p in listed] == [world.student_a]
    record = web("admin").client.get(f"/api/v1/people/{world.student_a}/access-log").json()
    assert ("principal", "search") in [(e["actor"], e["action"]) for e in record]
