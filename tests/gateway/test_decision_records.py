"""Over the protocol: what the gateway stopped reaches the lake and the audit, once.

A rejected message becomes a decision record and a communication record after the
flush, and the audit's finding on it says it was stopped at the gateway; mail the
gateway let through is audited when it comes from the archive, and only then.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from chaperone.gateway.journal import DecisionJournal, JournalSettings
from chaperone.gateway.server import Limits, PolicyServer
from chaperone.gateway.service import build_decider
from chaperone.lake import decisions
from chaperone.lake.query import count_records
from chaperone.lake.writer import lake_path
from chaperone.settings import Settings
from tests.audit.world import load_world
from tests.conftest import Cli
from tests.gateway.test_policy_service import Service, request

STUDENT = "s2@students.district.k12.us"


def serve_and_record(settings: Settings, *messages: list[bytes]) -> list[str]:
    """Answer each message's requests on one connection, then stop (which records them)."""
    journal = DecisionJournal(lake_path(settings.home), JournalSettings(flush_seconds=3600))
    running = Service(PolicyServer(build_decider(settings), Limits(), journal=journal))
    running.loop.call_soon_threadsafe(journal.start)
    replies = []
    try:
        with running.connect() as sock:
            replies = [running.ask(r, sock) for message in messages for r in message]
    finally:
        asyncio.run_coroutine_threadsafe(journal.close(), running.loop).result(60)
        running.stop()
    return replies


def exported(cli: Cli, tmp_path: Path) -> list[dict[str, Any]]:
    cli.ok("audit")
    out = tmp_path / "findings.json"
    cli.ok("findings", "export", "--format", "json", "--out", out)
    data = json.loads(out.read_text("utf-8"))
    return list(data["findings"] if isinstance(data, dict) else data)


def test_a_rejected_message_is_recorded_and_the_audit_finds_it_stopped(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    load_world(cli, tmp_path / "world")
    records_before = count_records(lake_path(settings.home))
    replies = serve_and_record(
        settings,
        [request("T1Home@Gmail.com", STUDENT, instance="rej.1")],
        [request("t1@district.k12.us", STUDENT, instance="ok.1"),
         request("t1@district.k12.us", "", state="END-OF-MESSAGE", instance="ok.1")],
    )
    assert replies[0].startswith("action=550 5.7.1 Policy 9052 §A")
    assert replies[1:] == ["action=DUNNO\n\n"] * 2
    logged = decisions.recent(lake_path(settings.home), limit=10)
    assert [(d["source_ref"], d["action"], d["stopped"]) for d in logged] == \
        [("gateway:ok.1", "DUNNO", False), ("gateway:rej.1", "REJECT", True)]
    assert count_records(lake_path(settings.home)) == records_before + 1  # only the stopped one
    found = [f for f in exported(cli, tmp_path) if f["source_ref"] == "gateway:rej.1"]
    assert [(f["rule_id"], f["subject_person_id"], f["recipients"]) for f in found] == \
        [("9052-A-direct", "T1", STUDENT)]
    assert found[0]["explanation"].endswith(
        "The district's mail gateway refused it before delivery (REJECT).")
    assert cli.ok("gateway", "decisions", "--stopped", "--format", "json").out.count(
        '"action": "REJECT"') == 1


def test_mail_the_gateway_let_through_is_counted_once_when_the_archive_is_ingested(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    load_world(cli, tmp_path / "world")
    warn = settings.model_copy(update={"gateway_actions": {"9052-A-direct": "WARN"}})
    replies = serve_and_record(warn, [
        request("t1home@gmail.com", STUDENT, instance="warn.1"),
        request("t1home@gmail.com", "", state="END-OF-MESSAGE", instance="warn.1"),
    ])
    assert all(r.startswith("action=WARN Policy 9052 §A") for r in replies)
    (logged,) = decisions.recent(lake_path(settings.home), limit=10)
    assert (logged["action"], logged["stopped"]) == ("WARN", False)
    archive = tmp_path / "delivered.mbox"
    box = mailbox.mbox(archive)
    box.add(_delivered("t1home@gmail.com", STUDENT))
    box.flush()
    cli.ok("ingest", "mbox", archive)
    found = [f for f in exported(cli, tmp_path)
             if f["sender"] == "t1home@gmail.com" and STUDENT in f["recipients"]]
    assert [(f["rule_id"], f["source_ref"].split(":")[0]) for f in found] == \
        [("9052-A-direct", "mbox")]
    assert "gateway" not in found[0]["explanation"]


def test_monitor_mode_stops_nothing_so_the_audit_waits_for_the_archive(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    load_world(cli, tmp_path / "world")
    records_before = count_records(lake_path(settings.home))
    monitor = settings.model_copy(update={"gateway_mode": "monitor"})
    (reply,) = serve_and_record(monitor, [request("t1home@gmail.com", STUDENT, instance="mon")])
    assert reply == "action=DUNNO\n\n"
    (logged,) = decisions.recent(lake_path(settings.home), limit=10)
    assert (logged["action"], logged["monitor"], logged["stopped"]) == ("REJECT", True, False)
    assert count_records(lake_path(settings.home)) == records_before
    weekly = json.loads(cli.ok("gateway", "decisions", "--weekly", "--format", "json").out)
    assert [(w["action"], w["monitor"], w["decisions"]) for w in weekly] == [("REJECT", True, 1)]


def test_the_decisions_view_refuses_what_it_does_not_know(cli: Cli) -> None:
    assert "unknown gateway view" in cli("gateway", "decision").err
    assert "not a date" in cli("gateway", "decisions", "--since", "yesterday").err
    assert "no decision records" in cli.ok("gateway", "decisions").out


def _delivered(sender: str, recipient: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, recipient, "Practice moved"
    message["Date"] = dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message["Message-ID"] = "<warn.1@gmail.com>"
    message.set_content("Practice is at 4 today.")
    return message


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="chaperone.gateway")
