"""A finding's sentence is rendered when it is read, for the reader: a name changed after
the audit never reaches a reviewer who has not revealed it, old or new."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from chaperone.audit import export
from chaperone.store.models import Finding, Person
from tests.web.site import Web, World

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test


def _rename(web: Web, world: World) -> tuple[str, str]:
    """Marry the subject of finding A after the audit (as a roster re-import would)."""
    with web.app.state.store.transaction() as session:
        finding = session.get(Finding, world.finding_a)
        assert finding is not None
        person = session.scalar(select(Person).where(Person.person_id == finding.subject_person_id))
        assert person is not None
        old = person.display_name
        person.family_name = "Okonkwo-Baptiste"
        return old, person.display_name


def test_a_rename_after_the_audit_shows_neither_name_before_a_reveal(
    web: Callable[[str | None], Web], world: World
) -> None:
    reviewer = web("reviewer")
    old, new = _rename(reviewer, world)
    api = reviewer.client.get(f"/api/v1/findings/{world.finding_a}").json()
    page = reviewer.client.get(f"/findings/{world.finding_a}").text
    for shown in (api["explanation"], page):
        assert old not in shown and new not in shown and "Okonkwo" not in shown
    assert re.match(r"^Staff [A-Z2-7]{6} \(", api["explanation"]), api["explanation"]
    assert api["explanation"].startswith(api["subject"])

    revealed = reviewer.post(f"/api/v1/findings/{world.finding_a}/reveal",
                             json={"reason": "meeting with the principal"})
    said = revealed.json()["explanation"]  # type: ignore[attr-defined]
    assert said.startswith(new) and old not in said


def test_the_export_names_people_as_the_directory_has_them_now(
    web: Callable[[str | None], Web], world: World, tmp_path: Path
) -> None:
    admin = web("admin")
    old, new = _rename(admin, world)
    out = tmp_path / "findings.json"
    with admin.app.state.store.transaction() as session:
        export.export(session, out, "json", actor="admin")
    rows = {r["finding_id"]: r for r in json.loads(out.read_text("utf-8"))}
    assert rows[world.finding_a]["explanation"].startswith(new)
    assert old not in out.read_text("utf-8")
