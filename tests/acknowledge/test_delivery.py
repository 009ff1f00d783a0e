"""Notices go out through a real Postfix relay: once each, refusals noted, reminders
carrying the same private link, and the link acknowledges."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from chaperone.acknowledge import campaigns
from chaperone.settings import Settings
from chaperone.store.db import open_store
from chaperone.store.models import Notice
from tests.audit.world import load_world
from tests.conftest import Cli
from tests.postfix import SMTP_PORT, delivered, free_port, running

LINK = re.compile(r"https://chaperone\.test/ack/([A-Za-z0-9_-]{32})")
REFUSING_V1 = "check_recipient_access inline:{ v1@busco.example=REJECT }, permit_mynetworks, reject"
DOMAINS = ("district.k12.us", "students.district.k12.us", "gmail.com", "busco.example")


@pytest.fixture
def relay(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with running(REFUSING_V1, domains=DOMAINS) as mail:
        for name, value in {
            "PUBLIC_URL": "https://chaperone.test",
            "MAIL_FROM": "compliance@district.k12.us",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(SMTP_PORT),
            "SMTP_SECURITY": "none",
        }.items():
            monkeypatch.setenv(f"CHAPERONE_{name}", value)
        yield mail


def letters(mail: Path, count: int) -> list[email.message.EmailMessage]:
    found = delivered(mail, count=count)
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in found
    ]


def test_notices_are_sent_once_each_and_their_links_acknowledge(
    cli: Cli, settings: Settings, tmp_path: Path, relay: Path
) -> None:
    load_world(cli, tmp_path / "world")
    cli.ok("campaigns", "create", "Policy 9052, 2026-27", "--due", "2026-12-31", "--by", "co")
    first = cli.ok("campaigns", "send", "1", "--limit", "2")
    assert first.out.startswith("2 sent, 0 refused")
    rest = cli.ok("campaigns", "send", "1")  # goes on where the first run stopped
    assert rest.out.startswith("3 sent, 1 refused by the relay")

    sent = letters(relay, 5)
    assert sorted(str(m["To"]) for m in sent) == [
        "p1@gmail.com", "s1@students.district.k12.us", "s2@students.district.k12.us",
        "t1@district.k12.us", "t2@district.k12.us",
    ]  # one each; the district address, not T1's personal one; V1 refused
    by_address = {str(m["To"]): m for m in sent}
    body = by_address["t1@district.k12.us"].get_content()
    assert body.startswith("Dear Dana,") and "31 December 2026" in body
    assert str(by_address["t1@district.k12.us"]["Subject"]).startswith(
        "Please acknowledge Board Policy 9052"
    )
    tokens = {a: LINK.findall(m.get_content()) for a, m in by_address.items()}
    assert all(len(found) == 1 for found in tokens.values())
    assert len({found[0] for found in tokens.values()}) == 5

    store = open_store(settings)
    try:
        with store.transaction() as session:
            landing = campaigns.acknowledge_link(session, tokens["t1@district.k12.us"][0])
            assert landing.notice.person_id == "T1"
        with store.transaction() as session:
            notices = {n.person_id: n for n in session.scalars(select(Notice))}
            assert notices["T1"].acknowledged_via == "link"
            assert notices["V1"].sent_at is None
            assert "Recipient address rejected" in notices["V1"].last_error
            assert notices["S1"].send_count == 1
            # a week passes
            week_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
            session.execute(
                update(Notice).where(Notice.sent_at.is_not(None)).values(sent_at=week_ago)
            )
    finally:
        store.close()

    again_now = cli.ok("campaigns", "send", "1", "--format", "json").out
    assert json.loads(again_now) == {"sent": 0, "refused": 1, "no_address": 0, "waiting": 0}
    reminded = cli.ok("campaigns", "send", "1", "--remind")
    assert reminded.out.startswith("4 sent, 1 refused")  # not T1, who acknowledged
    again = letters(relay, 9)
    assert len(again) == 9
    reminders = [m for m in again if str(m["Subject"]).startswith("Reminder:")]
    assert sorted(str(m["To"]) for m in reminders) == [
        "p1@gmail.com", "s1@students.district.k12.us", "s2@students.district.k12.us",
        "t2@district.k12.us",
    ]
    for reminder in reminders:  # the same private link as the first notice
        assert LINK.findall(reminder.get_content()) == tokens[str(reminder["To"])]


def test_a_relay_that_cannot_be_reached_is_named_and_nothing_is_marked_sent(
    cli: Cli, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_world(cli, tmp_path / "world")
    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    port = free_port()
    for name, value in {"PUBLIC_URL": "https://chaperone.test", "MAIL_FROM": "c@district.k12.us",
                        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                        "SMTP_SECURITY": "none"}.items():
        monkeypatch.setenv(f"CHAPERONE_{name}", value)
    failed = cli("campaigns", "send", "1")
    assert failed.code == 1
    assert f"mail relay 127.0.0.1:{port}: ConnectionRefusedError" in failed.err
    status = cli.ok("campaigns", "status", "1", "--format", "json")
    assert '"sent": 0' in status.out


def test_sending_without_the_settings_names_every_missing_one(cli: Cli, tmp_path: Path) -> None:
    load_world(cli, tmp_path / "world")
    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    failed = cli("campaigns", "send", "1")
    assert failed.code == 1
    assert ("sending notices needs CHAPERONE_PUBLIC_URL, CHAPERONE_MAIL_FROM, "
            "CHAPERONE_SMTP_HOST") in failed.err
