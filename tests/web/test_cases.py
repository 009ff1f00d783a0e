"""Cases through the API: the transition table, interventions from the catalogue, notes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.web.site import Web, World

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test


def _open(user: Web, finding: str) -> dict[str, object]:
    answer = user.client.post(
        "/api/v1/cases",
        json={"finding_ids": [finding], "title": "Texting from a personal phone"},
        headers={"X-CSRF-Token": user.csrf},
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_case_moves_from_new_to_resolved_with_an_hr_intervention(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    case = _open(officer, world.finding_a)
    assert case["status"] == "new" and case["next_statuses"] == ["triage", "dismissed"]
    cid = case["id"]
    steps = [
        ("transitions", {"to_status": "triage"}),
        ("assignee", {"username": "hr"}),
        ("transitions", {"to_status": "investigating"}),
        ("notes", {"text": "Spoke with the teacher; the parent asked for texts."}),
        ("interventions", {"code": "policy-reminder", "reason": "First occurrence."}),
        ("transitions", {"to_status": "resolved", "reason": "Reminder acknowledged."}),
    ]
    for path, body in steps:
        answer = officer.client.post(
            f"/api/v1/cases/{cid}/{path}", json=body, headers={"X-CSRF-Token": officer.csrf}
        )
        assert answer.status_code == 200, (path, answer.text)
    final = officer.client.get(f"/api/v1/cases/{cid}").json()
    assert (
        final["status"] == "resolved" and final["assignee"] == "hr" and final["next_statuses"] == []
    )
    kinds = [(e["kind"], e["to_status"], e["intervention_code"]) for e in final["events"]]
    assert kinds == [
        ("opened", "new", None),
        ("transition", "triage", None),
        ("assigned", None, None),
        ("transition", "investigating", None),
        ("note", None, None),
        ("intervention", None, "policy-reminder"),
        ("transition", "resolved", None),
    ]
    assert all(e["actor"] == "compliance_officer" for e in final["events"])
    finding = officer.client.get(f"/api/v1/findings/{world.finding_a}").json()
    assert finding["status"] == "triaged" and finding["case_ids"] == [cid]


def test_the_transition_table_refuses_skips_and_closed_cases(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    cid = _open(officer, world.finding_a)["id"]
    skip = officer.post(
        f"/api/v1/cases/{cid}/transitions", json={"to_status": "resolved", "reason": "x"}
    )
    assert skip.status_code == 400 and "can move to triage, dismissed" in skip.json()["detail"]  # type: ignore[attr-defined]
    no_reason = officer.post(f"/api/v1/cases/{cid}/transitions", json={"to_status": "dismissed"})
    assert no_reason.status_code == 400  # type: ignore[attr-defined]
    assert (
        officer.post(
            f"/api/v1/cases/{cid}/transitions",
            json={"to_status": "dismissed", "reason": "duplicate"},
        ).status_code
        == 200
    )  # type: ignore[attr-defined]
    closed = officer.post(f"/api/v1/cases/{cid}/notes", json={"text": "late"})
    assert closed.status_code == 400 and "dismissed" in closed.json()["detail"]  # type: ignore[attr-defined]


def test_interventions_must_fit_the_subject(web: Callable[[str | None], Web], world: World) -> None:
    officer = web("compliance_officer")
    cid = _open(officer, world.finding_a)["id"]  # the subject is staff
    student_option = officer.post(
        f"/api/v1/cases/{cid}/interventions", json={"code": "detention", "reason": "x"}
    )
    assert student_option.status_code == 400  # type: ignore[attr-defined]
    assert "not an intervention for a staff" in student_option.json()["detail"]  # type: ignore[attr-defined]


def test_a_case_about_a_student_takes_code_of_conduct_options_and_hr_may_not_run_it(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    finding = officer.client.get(f"/api/v1/findings/{world.finding_a}").json()
    officer.post(
        f"/api/v1/findings/{world.finding_a}/reveal", json={"reason": "choose the student"}
    )
    revealed = officer.client.get(f"/api/v1/findings/{world.finding_a}").json()
    students = [c["person_id"] for c in revealed["counterparts"] if c["population"] == "student"]
    if not students:  # a finding with a parent only: pick any finding with a student counterpart
        rows = officer.client.get("/api/v1/findings?per_page=500").json()["findings"]
        for row in rows:
            officer.post(
                f"/api/v1/findings/{row['finding_id']}/reveal",
                json={"reason": "choose the student"},
            )
            detail = officer.client.get(f"/api/v1/findings/{row['finding_id']}").json()
            students = [
                c["person_id"] for c in detail["counterparts"] if c["population"] == "student"
            ]
            if students:
                finding = detail
                break
    assert students
    answer = officer.post(
        "/api/v1/cases",
        json={"finding_ids": [finding["finding_id"]], "subject_person_id": students[0]},
    )
    assert answer.status_code == 201  # type: ignore[attr-defined]
    cid = answer.json()["id"]  # type: ignore[attr-defined]
    assert (
        officer.post(
            f"/api/v1/cases/{cid}/interventions",
            json={"code": "guardian-contact", "reason": "Family informed."},
        ).status_code
        == 200
    )  # type: ignore[attr-defined]
    hr = web("hr")
    refused = hr.post(f"/api/v1/cases/{cid}/notes", json={"text": "HR note"})
    assert refused.status_code == 403  # type: ignore[attr-defined]


def test_the_district_edits_its_catalogue(web: Callable[[str | None], Web]) -> None:
    admin = web("admin")
    answer = admin.client.put(
        "/api/v1/interventions/mentoring",
        json={"population": "staff", "name": "Mentoring with a colleague"},
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert answer.status_code == 200
    codes = [i["code"] for i in admin.client.get("/api/v1/interventions").json()]
    assert codes[-1] == "mentoring" and "detention" in codes
    admin.client.put(
        "/api/v1/interventions/detention",
        json={"population": "student", "name": "Detention", "active": False},
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert "detention" not in [i["code"] for i in admin.client.get("/api/v1/interventions").json()]
