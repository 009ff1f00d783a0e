"""Review is pseudonymised until a reviewer reveals names, with a reason that is recorded."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from chaperone.store.models import Finding, Person
from tests.web.site import Web, World

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test


def _names(web: Web, world: World) -> tuple[str, str, str]:
    with web.app.state.store.transaction() as session:
        finding = session.get(Finding, world.finding_a)
        assert finding is not None
        person = session.scalar(select(Person).where(Person.person_id == finding.subject_person_id))
        assert person is not None
        return person.display_name, finding.sender, finding.subject_person_id


def test_names_and_addresses_stay_hidden_until_revealed(
    web: Callable[[str | None], Web], world: World
) -> None:
    reviewer = web("reviewer")
    name, sender, person_id = _names(reviewer, world)
    queue = reviewer.client.get("/findings?status=all").text
    page = reviewer.client.get(f"/findings/{world.finding_a}").text
    api = reviewer.client.get(f"/api/v1/findings/{world.finding_a}").json()
    for shown in (queue, page, str(api)):
        assert name not in shown and sender not in shown and person_id not in shown
    assert re.match(r"^Staff [A-Z2-7]{6}$", api["subject"])
    assert api["sender"].split("•••")[0] == sender[:1] or api["sender"].startswith(sender[:2])

    revealed = reviewer.post(
        f"/api/v1/findings/{world.finding_a}/reveal", json={"reason": "meeting with the principal"}
    )
    assert revealed.status_code == 200  # type: ignore[attr-defined]
    body = revealed.json()  # type: ignore[attr-defined]
    assert body["subject"] == name and body["sender"] == sender
    assert name in reviewer.client.get(f"/findings/{world.finding_a}").text
    assert (
        web("reviewer").client.get(f"/api/v1/findings/{world.finding_a}").json()["subject"] != name
    )  # per sign-in


def test_the_same_person_has_the_same_pseudonym_everywhere(
    web: Callable[[str | None], Web], world: World
) -> None:
    one, two = web("reviewer"), web("compliance_officer")
    a = one.client.get(f"/api/v1/findings/{world.finding_a}").json()["subject"]
    b = two.client.get(f"/api/v1/findings/{world.finding_a}").json()["subject"]
    assert a == b


def test_revealing_needs_a_reason_and_auditors_cannot(
    web: Callable[[str | None], Web], world: World
) -> None:
    reviewer = web("reviewer")
    assert (
        reviewer.post(f"/api/v1/findings/{world.finding_a}/reveal", json={"reason": ""}).status_code
        == 422
    )  # type: ignore[attr-defined]
    auditor = web("auditor")
    assert (
        auditor.post(
            f"/api/v1/findings/{world.finding_a}/reveal", json={"reason": "curious"}
        ).status_code
        == 403
    )  # type: ignore[attr-defined]
