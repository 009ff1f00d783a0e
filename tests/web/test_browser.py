"""End to end in real headless Chromium (Debian's, driven by Playwright): sign in, triage a
finding, open a case, record an intervention, resolve it; a principal cannot reach another
school's findings or people; axe-core finds no serious or critical WCAG 2.1 AA violation
on any page; the pages work from the keyboard and on a phone-sized screen."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from chaperone.acknowledge import campaigns, tokens
from chaperone.settings import Settings
from chaperone.store.db import open_store
from chaperone.store.models import Notice, Person
from chaperone.web.app import create_app
from tests.web.site import PASSWORD, World

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SHOTS = os.environ.get("CHAPERONE_SCREENSHOTS")  # a folder: also save the guide's screenshots
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(web_settings: Settings) -> Iterator[str]:
    """The application on a free loopback port, served by uvicorn as `chaperone serve` does."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(web_settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    serving = uvicorn.Server(config)
    thread = threading.Thread(target=serving.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not serving.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://localhost:{port}"
    serving.should_exit = True
    thread.join(10)
    app.state.store.close()


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def _page(browser: object, *, phone: bool = False) -> object:
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=size, bypass_csp=True)  # type: ignore[attr-defined]
    return context.new_page()


def _sign_in(page: object, base: str, username: str, target: str = "/") -> None:
    page.goto(base + target)  # type: ignore[attr-defined]
    page.get_by_label("Username").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url(base + target)  # type: ignore[attr-defined]


def _shot(page: object, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def test_triage_open_a_case_record_an_intervention_and_resolve_it(
    server: str, browser: object, world: World
) -> None:
    page = _page(browser)
    _sign_in(page, server, "compliance_officer", "/findings")
    _shot(page, "review-queue")
    page.goto(f"{server}/findings/{world.finding_a}")  # type: ignore[attr-defined]
    _shot(page, "finding")
    page.get_by_role("button", name="Mark triaged").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}/findings/{world.finding_a}")  # type: ignore[attr-defined]
    assert page.locator(".facts .status").first.inner_text() == "triaged"  # type: ignore[attr-defined]
    page.get_by_label("Case title").fill("Texts to a family from a personal phone")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Open a case").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}/cases/*")  # type: ignore[attr-defined]
    for status in ("triage", "investigating"):
        page.get_by_label("New status").select_option(status)  # type: ignore[attr-defined]
        page.get_by_role("button", name="Move").click()  # type: ignore[attr-defined]
        page.wait_for_load_state()  # type: ignore[attr-defined]
        assert page.locator("#case-status").inner_text() == status  # type: ignore[attr-defined]
    page.get_by_label("Intervention (HR)").select_option("training")  # type: ignore[attr-defined]
    page.get_by_label("Why").fill("Second occurrence this term.")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Record intervention").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    _shot(page, "case")
    page.get_by_label("New status").select_option("resolved")  # type: ignore[attr-defined]
    page.get_by_label("Reason (needed to resolve or dismiss)").fill("Training completed.")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Move").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.locator("#case-status").inner_text() == "resolved"  # type: ignore[attr-defined]
    timeline = page.locator(".timeline").inner_text()  # type: ignore[attr-defined]
    assert "Required training" in timeline and "Training completed." in timeline


def test_a_principal_cannot_reach_another_schools_findings_or_people(
    server: str, browser: object, world: World
) -> None:
    page = _page(browser)
    _sign_in(page, server, "principal")
    _shot(page, "dashboard")
    assert page.goto(f"{server}/findings/{world.finding_a}").status == 200  # type: ignore[attr-defined]
    for path in (f"/findings/{world.finding_b}", f"/people/{world.student_b}"):
        answer = page.goto(server + path)  # type: ignore[attr-defined]
        assert answer.status == 404 and "Not found" in page.content()  # type: ignore[attr-defined]
    api = page.request.get(f"{server}/api/v1/findings/{world.finding_b}")  # type: ignore[attr-defined]
    assert api.status == 404
    listed = page.request.get(f"{server}/api/v1/findings?status=all&per_page=500").json()  # type: ignore[attr-defined]
    assert world.finding_a in {f["finding_id"] for f in listed["findings"]}
    assert world.finding_b not in {f["finding_id"] for f in listed["findings"]}


PAGES = [
    "/",
    "/findings",
    "/findings/{finding}",
    "/cases",
    "/cases/{case}",
    "/people",
    "/people/{person}",
    "/people/{person}/access",
    "/registry",
    "/interventions",
    "/audit-log",
    "/campaigns",
    "/campaigns/{campaign}",
    "/campaigns/{campaign}/outstanding",
]


def test_axe_finds_no_serious_or_critical_violations_on_any_page(
    server: str, browser: object, world: World, web_settings: Settings
) -> None:
    page = _page(browser)
    page.goto(server + "/login")  # type: ignore[attr-defined]
    problems = _axe(page, "/login")
    _sign_in(page, server, "admin")
    answer = page.request.post(
        f"{server}/api/v1/cases",
        data={"finding_ids": [world.finding_a]},
        headers={"X-CSRF-Token": _csrf(page, server)},
    )  # type: ignore[attr-defined]
    case = answer.json()["id"]
    campaign, _ = _campaign(web_settings)
    for path in PAGES:
        url = server + path.format(
            finding=world.finding_a, case=case, person=world.student_a, campaign=campaign
        )
        assert page.goto(url).status == 200, path  # type: ignore[attr-defined]
        problems += _axe(page, path)
    assert problems == []


def _csrf(page: object, server: str) -> str:
    token: str = page.request.get(f"{server}/api/v1/me").json()["csrf_token"]  # type: ignore[attr-defined]
    return token


def _axe(page: object, path: str) -> list[str]:
    page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    found: list[str] = page.evaluate(  # type: ignore[attr-defined]
        """async () => (await axe.run(document, {runOnly: {type: 'tag', values:
             ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => v.id + ' (' + v.impact + ', ' + v.nodes.length + ')')"""
    )
    return [f"{path}: {v}" for v in found]


def test_keyboard_only_sign_in_and_navigation(server: str, browser: object) -> None:
    page = _page(browser)
    page.goto(server + "/login")  # type: ignore[attr-defined]
    keyboard = page.keyboard  # type: ignore[attr-defined]
    keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"  # type: ignore[attr-defined]
    for _ in range(10):
        keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "username":  # type: ignore[attr-defined]
            break
    keyboard.type("reviewer")
    keyboard.press("Tab")
    keyboard.type(PASSWORD)
    keyboard.press("Enter")
    page.wait_for_url(server + "/")  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.id") == "main"  # type: ignore[attr-defined]


def test_pages_fit_a_phone_screen(
    server: str, browser: object, world: World, web_settings: Settings
) -> None:
    campaign, who = _campaign(web_settings)
    page = _page(browser, phone=True)
    _sign_in(page, server, "compliance_officer")
    for path in (
        "/",
        "/findings",
        f"/findings/{world.finding_a}",
        "/cases",
        "/people",
        "/campaigns",
        f"/campaigns/{campaign}",
        f"/campaigns/{campaign}/outstanding",
        f"/ack/{who['token']}",
    ):
        page.goto(server + path)  # type: ignore[attr-defined]
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")  # type: ignore[attr-defined]
        wide = page.evaluate(
            """() => [...document.querySelectorAll("*")].filter(e => e.scrollWidth > e.clientWidth + 1).slice(0, 8).map(e => e.tagName + "." + e.className + "#" + e.id)"""
        )  # type: ignore[attr-defined]
        assert overflow <= 0, (path, wide)


def test_an_officer_records_two_paper_acknowledgments_from_the_outstanding_list(
    server: str, browser: object, web_settings: Settings
) -> None:
    number, _ = _campaign(web_settings)
    page = _page(browser)
    _sign_in(page, server, "compliance_officer", f"/campaigns/{number}")
    page.get_by_role("link", name="Who is still to acknowledge").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}/campaigns/{number}/outstanding")  # type: ignore[attr-defined]
    before = _still(page)
    boxes = page.locator('input[name="person_ids"]')  # type: ignore[attr-defined]
    chosen = [boxes.nth(i).get_attribute("value") for i in (0, 1)]
    for i in (0, 1):
        boxes.nth(i).check()
    _shot(page, "outstanding")
    page.get_by_role("button", name="Record paper acknowledgments").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}/campaigns/{number}/outstanding?*")  # type: ignore[attr-defined]
    message = page.locator("#recorded").inner_text()  # type: ignore[attr-defined]
    assert message == "2 recorded, 0 had already acknowledged"
    assert _still(page) == before - 2
    for person_id in chosen:
        assert person_id is not None
        notice = _acknowledged(web_settings, number, person_id)
        assert notice is not None and notice.acknowledged_via == "paper"
        assert page.locator(f'input[value="{person_id}"]').count() == 0  # type: ignore[attr-defined]


def _still(page: object) -> int:
    text: str = page.locator("#still").inner_text()  # type: ignore[attr-defined]
    return int(text.split()[0])


def _campaign(settings: Settings) -> tuple[int, dict[str, str]]:
    """A campaign made through the service; its number and one staff member's link and names."""
    store = open_store(settings)
    try:
        with store.transaction() as session:
            campaign, _ = campaigns.create(
                session,
                name="Policy 9052, 2026-27",
                due_on=dt.date.today() + dt.timedelta(days=30),
                created_by="compliance_officer",
            )
            notice = session.scalars(
                select(Notice)
                .where(Notice.campaign_id == campaign.id, Notice.population == "staff")
                .order_by(Notice.person_id)
            ).first()
            assert notice is not None
            person = session.scalars(
                select(Person).where(Person.person_id == notice.person_id)
            ).one()
            token = tokens.derive(
                tokens.secret(session), campaign.id, notice.person_id, notice.nonce
            )
            return campaign.id, {
                "token": token,
                "person_id": person.person_id,
                "given_name": person.given_name,
                "family_name": person.family_name,
            }
    finally:
        store.close()


def _acknowledged(settings: Settings, campaign_id: int, person_id: str) -> Notice | None:
    store = open_store(settings)
    try:
        with store.transaction() as session:
            notice = session.scalars(
                select(Notice).where(
                    Notice.campaign_id == campaign_id, Notice.person_id == person_id
                )
            ).one()
            session.expunge(notice)
            return notice if notice.acknowledged_at else None
    finally:
        store.close()


def test_a_notice_link_shows_the_policy_and_takes_one_acknowledgment(
    server: str, browser: object, web_settings: Settings
) -> None:
    number, who = _campaign(web_settings)
    url = f"{server}/ack/{who['token']}"
    page = _page(browser)
    assert page.goto(url).status == 200  # type: ignore[attr-defined]
    main = page.locator("main")  # type: ignore[attr-defined]
    assert f"Dear {who['given_name']}," in main.inner_text()
    assert who["family_name"] not in main.inner_text()
    assert "District email accounts and/or District approved platforms" in main.inner_text()
    problems = _axe(page, "/ack/{token}")
    _shot(page, "acknowledge")
    page.get_by_role("button", name="I acknowledge").click()  # type: ignore[attr-defined]
    box = page.get_by_label("I have read Board Policy 9052")  # type: ignore[attr-defined]
    assert box.evaluate("e => e.validity.valueMissing")  # the browser stopped the submit
    assert page.url == url  # type: ignore[attr-defined]
    assert _acknowledged(web_settings, number, who["person_id"]) is None
    box.check()
    page.get_by_role("button", name="I acknowledge").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    thanks = page.locator("#ack-done").inner_text()  # type: ignore[attr-defined]
    notice = _acknowledged(web_settings, number, who["person_id"])
    assert notice is not None and notice.acknowledged_via == "link"
    assert notice.acknowledged_at is not None
    assert notice.acknowledged_at.strftime("%Y-%m-%d %H:%M UTC") in thanks
    assert thanks.startswith(f"Thank you, {who['given_name']}.")
    problems += _axe(page, "/ack/{token} (thanks)")
    page.goto(url)  # type: ignore[attr-defined]
    again = page.locator("#ack-done").inner_text()  # type: ignore[attr-defined]
    assert again.startswith("You already acknowledged this policy on")
    assert page.locator("form").count() == 0  # type: ignore[attr-defined]
    assert page.goto(f"{server}/ack/not-a-link").status == 404  # type: ignore[attr-defined]
    assert "This link is not valid" in page.content()  # type: ignore[attr-defined]
    problems += _axe(page, "/ack/not-a-link")
    assert problems == []
