"""Starting and closing acknowledgment campaigns (Policy 9052 §D) from the web application:
the "New campaign" form on /campaigns, the "Close campaign" form on a campaign's page, and
the same in the API. Only the compliance office (admin, compliance_officer) may."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import get_args

import httpx
import pytest
from sqlalchemy import func, select

from chaperone.acknowledge import campaigns
from chaperone.directory.populations import POPULATIONS
from chaperone.store.models import Campaign, TrailEntry
from chaperone.web.schemas import Population
from tests.web.site import Web, World, new_campaign
from tests.web.test_hostile import MARKUP, OURS

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test

TODAY = dt.date.today()
DUE = (TODAY + dt.timedelta(days=30)).isoformat()
OTHERS = ("principal", "reviewer", "hr", "auditor")


def _count(web: Web) -> int:
    with web.app.state.store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Campaign)) or 0)


def _campaign(web: Web, number: int) -> Campaign:
    with web.app.state.store.transaction() as session:
        found = campaigns.get(session, number)
        session.expunge(found)
        return found


def _trail(web: Web, action: str, number: int) -> list[str]:
    with web.app.state.store.transaction() as session:
        query = select(TrailEntry.actor).where(
            TrailEntry.action == action,
            TrailEntry.object_type == "campaign",
            TrailEntry.object_id == str(number),
        )
        return list(session.scalars(query))


def _create(web: Web, csrf: bool = True, **fields: object) -> httpx.Response:
    data: dict[str, object] = {
        "name": "Spring reminder",
        "due_on": DUE,
        "populations": list(POPULATIONS),  # as the form comes, every box ticked
        **fields,
    }
    if csrf:
        data["csrf_token"] = web.csrf
    return web.client.post("/campaigns", data=data, follow_redirects=False)


def _close(web: Web, number: int, **fields: object) -> httpx.Response:
    data = {"csrf_token": web.csrf, "confirm": "yes", **fields}
    return web.client.post(f"/campaigns/{number}/close", data=data, follow_redirects=False)


def _api(web: Web, path: str, json: object = None) -> httpx.Response:
    return web.client.post(path, json=json, headers={"X-CSRF-Token": web.csrf})


def test_the_api_offers_exactly_the_districts_populations() -> None:
    assert get_args(Population) == POPULATIONS


def test_the_form_starts_with_today_and_every_population_ticked(
    web: Callable[[str | None], Web],
) -> None:
    page = web("compliance_officer").client.get("/campaigns").text
    assert 'id="create"' in page
    assert f'name="opens_on" value="{TODAY.isoformat()}"' in page
    for population in POPULATIONS:
        assert f'name="populations" value="{population}" checked' in page


def test_a_compliance_officer_creates_a_campaign_through_the_form(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    answer = _create(officer, populations=["staff", "student"], schools=[world.school_a])
    assert answer.status_code == 303, answer.text
    where = answer.headers["location"]
    matched = re.fullmatch(r"/campaigns/(\d+)", where)  # the banner is in the session
    assert matched, where
    number = int(matched[1])
    made = _campaign(officer, number)
    assert campaigns.populations_of(made) == ["staff", "student"]
    assert campaigns.schools_of(made) == [world.school_a]
    assert made.created_by == "compliance_officer" and made.opens_on == TODAY
    page = officer.client.get(where).text
    with officer.app.state.store.transaction() as session:
        total = campaigns.status(session, campaigns.get(session, number)).total
    assert total.people > 0
    said = f"Campaign {number} created: {total.people:,} people, {total.no_address:,} without an e-mail address"
    assert said in page
    assert said not in officer.client.get(where).text  # shown once
    assert _trail(officer, "create", number) == ["compliance_officer"]


def test_bad_input_shows_every_problem_keeps_the_values_and_creates_nothing(
    web: Callable[[str | None], Web],
) -> None:
    officer = web("compliance_officer")
    before = _count(officer)
    opens = (TODAY + dt.timedelta(days=10)).isoformat()
    due = (TODAY + dt.timedelta(days=5)).isoformat()
    answer = _create(
        officer,
        name="  ",
        opens_on=opens,
        due_on=due,
        schools=["no-such-school"],
        populations=["parent"],
    )
    assert answer.status_code == 400
    page = answer.text
    assert (
        "unknown school &#34;no-such-school&#34;" in page
        or 'unknown school "no-such-school"' in page
    )
    assert "a campaign needs a name" in page
    assert f"due date {due} is before the campaign opens ({opens})" in page
    assert f'value="{opens}"' in page and f'value="{due}"' in page
    assert 'name="populations" value="parent" checked' in page
    assert 'name="populations" value="staff" checked' not in page
    assert _count(officer) == before


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"due_on": "soon"}, "due date &#34;soon&#34; is not a date (YYYY-MM-DD)"),
        ({"populations": []}, "tick at least one population"),
        ({"opens_on": "1900-01-01"}, "no version of policy 9052 was in force on 1900-01-01"),
    ],
)
def test_a_form_the_service_cannot_take_comes_back_with_the_reason(
    fields: dict[str, object], said: str, web: Callable[[str | None], Web]
) -> None:
    officer = web("compliance_officer")
    before = _count(officer)
    answer = _create(officer, **fields)
    assert answer.status_code == 400, answer.text
    assert said in answer.text
    assert _count(officer) == before


def test_a_form_without_the_csrf_token_is_refused(web: Callable[[str | None], Web]) -> None:
    officer = web("compliance_officer")
    before = _count(officer)
    assert _create(officer, csrf=False).status_code == 403
    number = new_campaign(officer)
    answer = officer.client.post(
        f"/campaigns/{number}/close", data={"confirm": "yes"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert _count(officer) == before + 1 and _campaign(officer, number).closed_at is None


@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_may_neither_create_nor_close_and_see_no_form(
    role: str, web: Callable[[str | None], Web]
) -> None:
    officer, user = web("compliance_officer"), web(role)
    number = new_campaign(officer)
    before = _count(officer)
    assert _create(user).status_code == 403
    assert _close(user, number).status_code == 403
    api = _api(user, "/api/v1/campaigns", json={"name": "Mine", "due_on": DUE})
    assert api.status_code == 403
    assert _api(user, f"/api/v1/campaigns/{number}/close").status_code == 403
    assert _count(officer) == before and _campaign(officer, number).closed_at is None
    listed = user.client.get("/campaigns")
    if listed.status_code == 200:
        assert 'action="/campaigns"' not in listed.text
        page = user.client.get(f"/campaigns/{number}").text
        assert "/close" not in page and "Close campaign" not in page


def test_closing_works_twice_is_harmless_and_a_closed_campaign_has_no_close_form(
    web: Callable[[str | None], Web],
) -> None:
    admin = web("admin")
    number = new_campaign(admin)
    assert "Close campaign" in admin.client.get(f"/campaigns/{number}").text
    first = _close(admin, number)
    assert first.status_code == 303
    assert first.headers["location"] == f"/campaigns/{number}"
    closed_at = _campaign(admin, number).closed_at
    assert closed_at is not None and _campaign(admin, number).closed_by == "admin"
    assert _close(admin, number).status_code == 303
    assert _campaign(admin, number).closed_at == closed_at
    assert _trail(admin, "close", number) == ["admin"]
    page = admin.client.get(f"/campaigns/{number}").text
    assert f"Campaign {number} closed" in page
    assert 'id="close"' not in page and "Close campaign" not in page


def test_closing_needs_the_confirmation_box(web: Callable[[str | None], Web]) -> None:
    admin = web("admin")
    number = new_campaign(admin)
    answer = _close(admin, number, confirm="")
    assert answer.status_code == 400
    assert "Tick the box to confirm" in answer.text
    assert _campaign(admin, number).closed_at is None


def test_the_api_creates_and_closes_a_campaign(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    body = {"name": "API run", "due_on": DUE, "populations": ["staff"], "schools": [world.school_b]}
    made = _api(officer, "/api/v1/campaigns", json=body)
    assert made.status_code == 201, made.text
    shown = made.json()
    again = officer.client.get(f"/api/v1/campaigns/{shown['id']}").json()
    assert shown == again
    assert shown["populations"] == ["staff"] and shown["schools"] == [world.school_b]
    assert shown["total"]["people"] > 0 and shown["closed_at"] is None
    closed = _api(officer, f"/api/v1/campaigns/{shown['id']}/close")
    assert closed.status_code == 200 and closed.json()["closed_at"]
    twice = _api(officer, f"/api/v1/campaigns/{shown['id']}/close")
    assert twice.json()["closed_at"] == closed.json()["closed_at"]
    bad = _api(officer, "/api/v1/campaigns", json={**body, "schools": ["nowhere"], "name": " "})
    assert bad.status_code == 400
    assert "unknown school" in bad.json()["detail"] and "needs a name" in bad.json()["detail"]
    missing = officer.client.post("/api/v1/campaigns", json=body)  # no X-CSRF-Token header
    assert missing.status_code == 403
    assert _api(officer, "/api/v1/campaigns/999999/close").status_code == 404


@pytest.mark.parametrize("name", [s[:255] for s in OURS])
def test_a_hostile_campaign_name_is_escaped(name: str, web: Callable[[str | None], Web]) -> None:
    officer = web("compliance_officer")
    answer = _create(officer, name=name)
    if answer.status_code == 400:
        page = answer.text
    else:
        assert answer.status_code == 303
        page = officer.client.get(answer.headers["location"]).text
        listed = officer.client.get("/campaigns").text
        for bad in MARKUP:
            assert bad not in listed, bad
    for bad in MARKUP:
        assert bad not in page, bad
