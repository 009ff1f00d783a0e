"""Exceptions a compliance officer grants: honoured by audit and gateway, within their terms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaperone.gateway.protocol import PolicyRequest
from chaperone.gateway.service import build_decider
from chaperone.settings import Settings
from tests.audit.world import load_world
from tests.conftest import Cli


def found(cli: Cli, tmp_path: Path) -> set[str]:
    out = tmp_path / "f.json"
    cli.ok("findings", "export", "--format", "json", "--out", out)
    return {r["message_id"] for r in json.loads(out.read_text("utf-8"))}


@pytest.mark.store
def test_an_exception_suppresses_exactly_what_it_names(cli: Cli, tmp_path: Path) -> None:
    load_world(cli, tmp_path / "world")
    cli.ok("audit")
    before = found(cli, tmp_path)
    assert {"personal-phone-to-parent", "personal-to-student"} <= before
    # A coach may text a parent from a personal phone during an away tournament.
    cli.ok("exceptions", "grant", "T1", "--population", "parent", "--channel", "text_message",
           "--rule", "9052-A-direct", "--from", "2026-09-12", "--until", "2026-09-14", "--reason", "away tournament",
           "--by", "compliance.officer")
    summary = json.loads(cli.ok("audit", "--format", "json").out)
    after = found(cli, tmp_path)
    assert before - after == {"personal-phone-to-parent", "parent-to-personal-phone"}
    assert summary["withdrawn"] == 2
    listed = json.loads(cli.ok("exceptions", "list", "--format", "json").out)
    assert listed[0]["reason"] == "away tournament" and listed[0]["revoked"] == ""
    cli.ok("exceptions", "revoke", "1", "--by", "compliance.officer")
    cli.ok("audit")
    assert found(cli, tmp_path) == before


def test_an_exception_outside_its_dates_or_people_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    load_world(cli, tmp_path / "world")
    cli.ok("audit")
    before = found(cli, tmp_path)
    cli.ok("exceptions", "grant", "T1", "--with", "T2", "--from", "2026-09-14", "--until",
           "2026-09-14", "--reason", "committee work", "--by", "hr")
    cli.ok("exceptions", "grant", "T1", "--population", "parent", "--from", "2026-10-01",
           "--until", "2026-10-02", "--reason", "later trip", "--by", "hr")
    cli.ok("audit")
    assert before - found(cli, tmp_path) == {"personal-staff-to-staff"}


def test_bad_grants_are_refused_in_one_line(cli: Cli, tmp_path: Path) -> None:
    load_world(cli, tmp_path / "world")
    base = ["exceptions", "grant", "T1", "--from", "2026-09-14", "--reason", "x", "--by", "hr"]
    assert 'no person "NOBODY"' in cli(*base, "--until", "2026-09-15", "--with", "NOBODY").err
    assert "end on or after" in cli(*base, "--until", "2026-09-01").err
    assert 'unknown channel type "fax"' in cli(*base, "--until", "2026-09-15", "--channel", "fax").err


def test_the_gateway_honours_exceptions(cli: Cli, tmp_path: Path, settings: Settings) -> None:
    load_world(cli, tmp_path / "world")
    request = PolicyRequest("RCPT", "t1home@gmail.com", "t2@district.k12.us", "i", 1, "q")
    assert build_decider(settings).decide(request).action == "REJECT"
    cli.ok("exceptions", "grant", "T1", "--with", "T2", "--from", "2020-01-01", "--until",
           "2099-12-31", "--reason", "personal address to one colleague", "--by", "hr")
    assert build_decider(settings).decide(request).action == "DUNNO"
