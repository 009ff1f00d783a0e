"""Every row of the §A decision table, on every engine, through the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.audit.world import CASES, load_world
from tests.conftest import Cli

EXPORT_COLUMNS = [
    "finding_id", "rule_id", "citation", "policy_version", "severity", "occurred_at",
    "channel_type", "platform", "message_id", "source_ref", "sender", "recipients",
    "subject_person_id", "counterpart_person_ids", "explanation",
]  # fmt: skip


def exported(cli: Cli, folder: Path) -> list[dict[str, str]]:
    out = folder / "findings.json"
    cli.ok("findings", "export", "--format", "json", "--out", out)
    return list(json.loads(out.read_text("utf-8")))


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_every_row_of_the_decision_table(cli: Cli, tmp_path: Path, engine: str) -> None:
    load_world(cli, tmp_path)
    cli.ok("audit", "--engine", engine)
    found: dict[str, set[tuple[str, str]]] = {}
    for row in exported(cli, tmp_path):
        found.setdefault(row["message_id"], set()).add((row["rule_id"], row["subject_person_id"]))
    for message_id, *_rest, expected in CASES:
        assert found.get(message_id, set()) == expected, message_id


@pytest.mark.store
def test_findings_cite_explain_and_export_exact_columns(cli: Cli, tmp_path: Path) -> None:
    load_world(cli, tmp_path)
    cli.ok("audit")
    out = tmp_path / "findings.csv"
    cli.ok("findings", "export", "--format", "csv", "--out", out)
    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == EXPORT_COLUMNS
        rows = {r["message_id"]: r for r in reader}
    text = rows["personal-phone-to-parent"]
    assert (text["citation"], text["policy_version"], text["severity"]) == (
        "9052 §A",
        "2017.1",
        "high",
    )
    assert text["occurred_at"] == "2026-09-14T13:00:00Z"
    assert text["counterpart_person_ids"] == "P1"
    assert text["explanation"] == (
        "Dana Ito (staff, Hillcrest High School) texted a parent from a personal number; "
        "§A requires district accounts or an approved platform such as ParentSquare."
    )
    expired = rows["remind-after-expiry"]["explanation"]
    assert "Remind, whose approval expired on 2026-08-01" in expired
    two = rows["student-personal-two-staff"]
    assert two["recipients"] == "s1@gmail.com;t2@district.k12.us"


@pytest.mark.store
def test_reauditing_never_duplicates_and_a_registry_change_reevaluates(
    cli: Cli, tmp_path: Path
) -> None:
    load_world(cli, tmp_path)
    first = json.loads(cli.ok("audit", "--format", "json").out)
    again = json.loads(cli.ok("audit", "--format", "json").out)
    assert (again["total"], again["added"], again["withdrawn"]) == (first["total"], 0, 0)
    ids = {r["finding_id"] for r in exported(cli, tmp_path)}
    registry = tmp_path / "registry.yaml"
    registry.write_text(registry.read_text().replace("status: denied", "status: approved"))
    cli.ok("registry", "import", registry)
    after = json.loads(cli.ok("audit", "--format", "json").out)
    assert after["withdrawn"] == 1  # WhatsApp approved: that finding no longer holds
    remaining = exported(cli, tmp_path)
    assert {r["finding_id"] for r in remaining} < ids
    assert "denied-platform" not in {r["message_id"] for r in remaining}


def test_dry_run_saves_nothing_and_a_draft_pack_can_be_tried(cli: Cli, tmp_path: Path) -> None:
    load_world(cli, tmp_path)
    dry = json.loads(cli.ok("audit", "--dry-run", "--format", "json").out)
    assert dry["total"] > 0 and dry["dry_run"] is True
    assert exported(cli, tmp_path) == []
    from chaperone.policy.loader import builtin

    draft = tmp_path / "draft.yaml"
    draft.write_text(builtin()[0].text.replace("enabled: false", "enabled: true"), "utf-8")
    tried = json.loads(cli.ok("audit", "--policy", draft, "--format", "json").out)
    assert "9052-A.3-guardian-copy" in tried["per_rule"] and tried["dry_run"] is True
    assert exported(cli, tmp_path) == []


def test_since_and_until_are_local_dates(cli: Cli, tmp_path: Path) -> None:
    load_world(cli, tmp_path)
    summary = json.loads(
        cli.ok("audit", "--since", "2026-08-01", "--until", "2026-08-02", "--format", "json").out
    )
    assert summary["per_rule"] == {"9052-A-platform": 1}  # only remind-after-expiry


@pytest.mark.store
def test_every_export_is_recorded(cli: Cli, tmp_path: Path, store: object) -> None:
    from sqlalchemy import select

    from chaperone.store.db import Store
    from chaperone.store.models import TrailEntry

    load_world(cli, tmp_path)
    cli.ok("audit")
    cli.ok("findings", "export", "--format", "csv", "--out", tmp_path / "f.csv")
    assert isinstance(store, Store)
    with store.transaction() as session:
        events = [(e.action, e.detail) for e in session.scalars(select(TrailEntry))]
    expected = sum(len(case[-1]) for case in CASES)
    assert events == [("export", f"findings export of {expected} findings to {tmp_path / 'f.csv'}")]
