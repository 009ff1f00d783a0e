"""Acknowledgment campaigns on the web: the public page a notice's private link opens
(read the policy, tick, acknowledge, once), and the progress pages and API for staff
(counts only; a principal's schools only). The browser run is in test_browser.py."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from chaperone.acknowledge import campaigns
from chaperone.store.models import Campaign, Notice, Person, TrailEntry
from chaperone.web.app import create_app
from tests.web.site import Web, World, link, new_campaign
from tests.web.test_hostile import MARKUP, OURS

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test

FORM = re.compile(r'name="form_token" value="([0-9a-f]{64})"')


def _person(web: Web, person_id: str) -> Person:
    with web.app.state.store.transaction() as session:
        person = session.scalar(select(Person).where(Person.person_id == person_id))
        assert person is not None
        session.expunge(person)
        return person


def _notice(web: Web, campaign_id: int, person_id: str) -> Notice:
    with web.app.state.store.transaction() as session:
        notice = session.scalar(
            select(Notice).where(Notice.campaign_id == campaign_id, Notice.person_id == person_id)
        )
        assert notice is not None
        session.expunge(notice)
        return notice


def _form_value(web: Web, token: str) -> str:
    found = FORM.search(web.client.get(f"/ack/{token}").text)
    assert found, "the page has no form"
    return found.group(1)


def _close(web: Web, campaign_id: int) -> None:
    with web.app.state.store.transaction() as session:
        campaigns.close(session, campaigns.get(session, campaign_id), closed_by="admin")


def test_a_link_shows_the_policy_and_the_given_name_only(
    web: Callable[[str | None], Web],
) -> None:
    anyone = web(None)
    number = new_campaign(anyone, name="Policy 9052, 2026-27")
    token, person_id = link(anyone, number)
    person = _person(anyone, person_id)
    page = anyone.client.get(f"/ack/{token}")
    assert page.status_code == 200
    assert "Policy 9052, 2026-27" in page.text
    assert "Electronic Communication and Social Media Policy" in page.text
    assert "version <bdi>2017.1</bdi>" in page.text
    assert "District email accounts and/or District approved platforms" in page.text  # §A
    assert f"Dear <bdi>{person.given_name}</bdi>," in page.text
    for private in (person.family_name, person.person_id, person.display_name):
        assert private not in page.text
    assert 'type="checkbox" id="ack-read" name="read" value="yes" required' in page.text
    assert ">I acknowledge</button>" in page.text


def test_acknowledging_records_it_once_and_a_second_visit_says_so(
    web: Callable[[str | None], Web],
) -> None:
    anyone = web(None)
    number = new_campaign(anyone)
    token, person_id = link(anyone, number)
    value = _form_value(anyone, token)
    thanks = anyone.client.post(f"/ack/{token}", data={"form_token": value, "read": "yes"})
    assert thanks.status_code == 200
    notice = _notice(anyone, number, person_id)
    assert notice.acknowledged_via == "link" and notice.acknowledged_at is not None
    recorded = notice.acknowledged_at.strftime("%Y-%m-%d %H:%M UTC")
    assert f"Your acknowledgment was recorded on {recorded}" in thanks.text
    again = anyone.client.post(f"/ack/{token}", data={"form_token": value, "read": "yes"})
    visit = anyone.client.get(f"/ack/{token}")
    for page in (again, visit):
        assert f"You already acknowledged this policy on {recorded}" in page.text
        assert "<form" not in page.text
    assert _notice(anyone, number, person_id).acknowledged_at == notice.acknowledged_at
    with anyone.app.state.store.transaction() as session:
        entries = session.scalars(
            select(TrailEntry).where(TrailEntry.action == "acknowledge")
        ).all()
        assert [(e.actor, e.object_id) for e in entries] == [(f"person:{person_id}", str(number))]
        assert token not in entries[0].detail


def _same(token: str) -> str:
    return token


@pytest.mark.parametrize(
    ("spoil", "withdraw"),
    [
        pytest.param(lambda t: t[:-1] + ("B" if t.endswith("A") else "A"), False, id="one-off"),
        pytest.param(lambda t: "x" * 5000, False, id="very-long"),
        pytest.param(lambda t: "%3Cscript%3E", False, id="markup"),
        pytest.param(_same, True, id="withdrawn"),
    ],
)
def test_a_link_that_is_not_valid_answers_404_and_reveals_nothing(
    spoil: Callable[[str], str], withdraw: bool, web: Callable[[str | None], Web]
) -> None:
    anyone = web(None)
    number = new_campaign(anyone, name="Secret campaign name")
    token, person_id = link(anyone, number)
    if withdraw:  # the person left the campaign's audience
        with anyone.app.state.store.transaction() as session:
            notice = session.scalars(
                select(Notice).where(Notice.campaign_id == number, Notice.person_id == person_id)
            ).one()
            notice.withdrawn_at = notice.added_at
    person = _person(anyone, person_id)
    for answer in (
        anyone.client.get(f"/ack/{spoil(token)}"),
        anyone.client.post(f"/ack/{spoil(token)}", data={"form_token": "0" * 64}),
    ):
        assert answer.status_code == 404
        assert "This link is not valid" in answer.text and "school office" in answer.text
        for private in ("Secret campaign name", "9052, 2026", person.given_name, "<form"):
            assert private not in answer.text
        assert answer.headers["referrer-policy"] == "no-referrer"
    assert _notice(anyone, number, person_id).acknowledged_at is None


def test_a_post_without_the_pages_anti_forgery_value_is_refused(
    web: Callable[[str | None], Web],
) -> None:
    anyone = web(None)
    number = new_campaign(anyone)
    token, person_id = link(anyone, number)
    other, _ = link(anyone, number, population="student")
    for form in (
        {},
        {"form_token": ""},
        {"form_token": "0" * 64},
        {"form_token": _form_value(anyone, other)},
    ):
        refused = anyone.client.post(f"/ack/{token}", data={"read": "yes", **form})
        assert refused.status_code == 403, form
        assert "This form did not come from your link" in refused.text
    assert _notice(anyone, number, person_id).acknowledged_at is None


def test_a_closed_campaign_shows_no_form_and_takes_no_acknowledgment(
    web: Callable[[str | None], Web],
) -> None:
    anyone = web(None)
    number = new_campaign(anyone)
    token, person_id = link(anyone, number)
    value = _form_value(anyone, token)
    _close(anyone, number)
    page = anyone.client.get(f"/ack/{token}")
    assert page.status_code == 200 and "campaign is closed" in page.text
    assert "<form" not in page.text
    refused = anyone.client.post(f"/ack/{token}", data={"form_token": value, "read": "yes"})
    assert refused.status_code == 409 and "campaign is closed" in refused.text
    assert _notice(anyone, number, person_id).acknowledged_at is None


def test_ack_pages_keep_the_link_out_of_referrers_and_caches(
    web: Callable[[str | None], Web],
) -> None:
    anyone = web(None)
    token, _ = link(anyone, new_campaign(anyone))
    answers = [
        anyone.client.get(f"/ack/{token}"),
        anyone.client.post(f"/ack/{token}", data={"form_token": _form_value(anyone, token)}),
        anyone.client.post(f"/ack/{token}", data={}),
        anyone.client.get("/ack/not-a-link"),
    ]
    for answer in answers:
        assert answer.headers["referrer-policy"] == "no-referrer", answer.status_code
        assert answer.headers["cache-control"] == "no-store"
        assert '<meta name="referrer" content="no-referrer">' in answer.text
    assert anyone.client.get("/login").headers["referrer-policy"] == "same-origin"


def test_the_request_log_never_shows_a_link(web: Callable[[str | None], Web]) -> None:
    """`chaperone serve --access-log` writes uvicorn's request line without the token."""
    anyone = web(None)
    token, _ = link(anyone, new_campaign(anyone))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(anyone.app.state.settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", access_log=True)
    lines: list[str] = []
    catcher = logging.Handler()
    catcher.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("uvicorn.access").addHandler(catcher)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/ack/{token}?x=1").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/login").status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)
        logging.getLogger("uvicorn.access").removeHandler(catcher)
        app.state.store.close()
    assert any("GET /ack/…?x=1 HTTP" in line for line in lines), lines
    assert any("GET /login HTTP" in line for line in lines), lines
    assert not any(token in line for line in lines)


def _school_rows(html: str) -> set[str]:
    table = html.split("<caption>By school</caption>")[1].split("</table>")[0]
    return set(re.findall(r'<span class="muted">\(<bdi>([^<]+)</bdi>\)</span>', table))


def test_a_compliance_officer_sees_every_school_and_a_principal_only_theirs(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer, principal = web("compliance_officer"), web("principal")
    number = new_campaign(officer)
    everyone = officer.client.get(f"/api/v1/campaigns/{number}").json()
    theirs = principal.client.get(f"/api/v1/campaigns/{number}").json()
    schools = {g["group"] for g in everyone["by_school"]}
    assert {world.school_a, world.school_b} <= schools
    assert [g["group"] for g in theirs["by_school"]] == [world.school_a]
    school_a = next(g for g in everyone["by_school"] if g["group"] == world.school_a)
    assert {k: v for k, v in school_a.items() if k != "group"} == theirs["total"]
    assert theirs["total"]["people"] < everyone["total"]["people"]
    assert {world.school_a, world.school_b} <= _school_rows(
        officer.client.get(f"/campaigns/{number}").text
    )
    page = principal.client.get(f"/campaigns/{number}").text
    assert _school_rows(page) == {world.school_a}
    assert f"of {theirs['total']['people']} people" in page
    assert "Showing your schools only." in page


def test_a_principal_does_not_see_a_campaign_for_other_schools(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer, principal = web("compliance_officer"), web("principal")
    elsewhere = new_campaign(officer, name="Only school B", schools=[world.school_b])
    assert principal.client.get(f"/campaigns/{elsewhere}").status_code == 404
    assert principal.client.get(f"/api/v1/campaigns/{elsewhere}").status_code == 404
    assert elsewhere not in {c["id"] for c in principal.client.get("/api/v1/campaigns").json()}
    assert "Only school B" not in principal.client.get("/campaigns").text
    assert "Only school B" in officer.client.get("/campaigns").text


def test_a_reviewer_may_not_see_campaigns(web: Callable[[str | None], Web]) -> None:
    reviewer = web("reviewer")
    number = new_campaign(reviewer)
    for path in ("/campaigns", f"/campaigns/{number}", "/api/v1/campaigns"):
        assert reviewer.client.get(path).status_code == 403, path
    assert 'href="/campaigns"' not in reviewer.client.get("/").text
    assert 'href="/campaigns"' in web("hr").client.get("/").text


def test_the_api_lists_campaigns_with_counts_and_nothing_personal(
    web: Callable[[str | None], Web],
) -> None:
    officer = web("compliance_officer")
    first = new_campaign(officer, name="Staff only", populations=["staff"])
    second = new_campaign(officer, name="Everyone")
    token, person_id = link(officer, first)
    officer.client.post(
        f"/ack/{token}", data={"form_token": _form_value(officer, token), "read": "yes"}
    )
    _close(officer, first)
    listed = [c for c in officer.client.get("/api/v1/campaigns").json() if c["id"] >= first]
    assert [c["id"] for c in listed] == [second, first]  # newest first
    staff = listed[1]
    assert staff["name"] == "Staff only" and staff["populations"] == ["staff"]
    assert staff["closed_at"] is not None and staff["policy"] == "9052"
    assert staff["total"]["acknowledged"] == 1
    assert staff["total"]["outstanding"] == staff["total"]["people"] - 1
    assert set(staff["total"]) == {
        "people",
        "acknowledged",
        "outstanding",
        "percent",
        "sent",
        "no_address",
    }
    detail = officer.client.get(f"/api/v1/campaigns/{first}").json()
    assert [g["group"] for g in detail["by_population"]] == ["staff"]
    assert detail["by_population"][0]["acknowledged"] == 1 and detail["withdrawn"] == 0
    assert (
        person_id not in str(detail)
        and person_id not in officer.client.get(f"/campaigns/{first}").text
    )
    assert officer.client.get("/api/v1/campaigns/999999").status_code == 404
    page = officer.client.get("/campaigns").text
    assert "closed" in page and "1 of " in page


@pytest.mark.parametrize("name", [s[:255] for s in OURS])
def test_a_hostile_campaign_name_renders_escaped(
    name: str, web: Callable[[str | None], Web]
) -> None:
    officer = web("compliance_officer")
    number = new_campaign(officer, name=name)
    token, person_id = link(officer, number)
    with officer.app.state.store.transaction() as session:
        person = session.scalar(select(Person).where(Person.person_id == person_id))
        assert person is not None
        person.given_name = name
        assert session.get(Campaign, number) is not None
    for path in ("/campaigns", f"/campaigns/{number}", f"/ack/{token}"):
        page = officer.client.get(path)
        assert page.status_code == 200, path
        for bad in MARKUP:
            assert bad not in page.text, (path, bad)
    if name.startswith("<script>"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in officer.client.get("/campaigns").text
