"""Findings: built from matched facts, stored with stable ids, withdrawn when no longer true."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from chaperone.judge import verdicts
from chaperone.judge.rules import RuleWindow
from chaperone.judge.verdicts import Verdict
from chaperone.judge.world import World
from chaperone.lake.schema import stable_id
from chaperone.store.db import Store
from chaperone.store.models import Finding, utcnow

T = TypeVar("T")

EXPORT_COLUMNS = (
    "finding_id",
    "rule_id",
    "citation",
    "policy_version",
    "severity",
    "occurred_at",
    "channel_type",
    "platform",
    "message_id",
    "source_ref",
    "sender",
    "recipients",
    "subject_person_id",
    "counterpart_person_ids",
    "explanation",
)


# The store's columns that a finding's own fields fill as they are
# (``recipients`` and ``counterpart_person_ids`` are joined with ``;``).
STORED = (
    "finding_id",
    "rule_id",
    "citation",
    "policy_version",
    "severity",
    "occurred_at",
    "local_date",
    "channel_type",
    "platform",
    "message_id",
    "record_id",
    "source_ref",
    "sender",
    "subject_person_id",
    "school",
)
BATCH = 2000  # findings per statement and per transaction when saving


@dataclass(frozen=True)
class NewFinding:
    """A finding as one audit computed it."""

    finding_id: str
    rule_id: str
    citation: str
    policy_version: str
    severity: str
    occurred_at: dt.datetime
    local_date: dt.date
    channel_type: str
    platform: str | None
    message_id: str | None
    record_id: str
    source_ref: str
    sender: str
    recipients: tuple[str, ...]
    subject_person_id: str
    counterpart_person_ids: tuple[str, ...]
    school: str | None
    verdict: Verdict


def build(
    windows: list[RuleWindow], rows: Iterable[dict[str, Any]], inputs: World
) -> list[NewFinding]:
    """One finding per matched (rule, record, subject person)."""
    found: dict[str, NewFinding] = {}
    for row in rows:
        for window in windows:
            if row.get(window.column) and not _excepted(window, row, inputs):
                finding = _finding(window, row, inputs)
                found.setdefault(finding.finding_id, finding)
    return sorted(found.values(), key=lambda f: (f.occurred_at, f.finding_id))


def _excepted(window: RuleWindow, row: dict[str, Any], inputs: World) -> bool:
    subject = row["subject_id"]
    counterparts = [m for m in row["members"] if m != subject]
    return inputs.excepted(window.rule.id, subject, counterparts, row["record_channel_type"],
                           row["local_date"])


def _finding(window: RuleWindow, row: dict[str, Any], inputs: World) -> NewFinding:
    subject = row["subject_id"]
    counterparts = tuple(m for m in row["members"] if m != subject)
    person = inputs.people.get(subject)
    occurred = row["occurred_at"]
    return NewFinding(
        finding_id=stable_id("finding", window.rule.id, row["record_id"], subject),
        rule_id=window.rule.id,
        citation=window.rule.spec.citation,
        policy_version=window.pack.spec.version,
        severity=window.rule.spec.severity,
        occurred_at=occurred.astimezone(dt.UTC),
        local_date=row["local_date"],
        channel_type=row["record_channel_type"],
        platform=row["record_platform"],
        message_id=row["message_id"],
        record_id=row["record_id"],
        source_ref=row["source_ref"],
        sender=row["sender"],
        recipients=tuple(row["recipients"]),
        subject_person_id=subject,
        counterpart_person_ids=counterparts,
        school=person.schools[0] if person and person.schools else None,
        verdict=verdicts.build(window, row, inputs),
    )


@dataclass(frozen=True)
class Saved:
    """What saving an audit's findings changed."""

    total: int
    added: int
    withdrawn: int


def save(
    store: Store,
    findings: list[NewFinding],
    *,
    rule_ids: set[str],
    since: dt.date | None,
    until: dt.date | None,
) -> Saved:
    """Upsert findings by id; withdraw active ones of these rules in the window not found now.

    Written in bulk (one statement per batch of rows, no object per finding): an
    audit of a large lake saves hundreds of thousands of findings. Each batch is its own
    short transaction, so the web app's writes (every view is in the audit log) take turns
    with the audit's instead of waiting for all of it.
    """
    now = utcnow()
    added = 0
    for batch in _batches(findings):
        with store.transaction() as session:
            added += _upsert(session, batch, now)
    current = {f.finding_id for f in findings}
    held = select(Finding.finding_id).where(Finding.active, Finding.rule_id.in_(sorted(rule_ids)))
    if since is not None:
        held = held.where(Finding.local_date >= since)
    if until is not None:
        held = held.where(Finding.local_date <= until)
    with store.reading() as session:
        gone = [i for i in session.scalars(held) if i not in current]
    for ids in _batches(gone, size=BATCH // 4):
        with store.transaction() as session:
            session.execute(
                update(Finding).where(Finding.finding_id.in_(ids)).values(active=False),
                execution_options={"synchronize_session": False},
            )
    return Saved(len(findings), added, len(gone))


def _upsert(session: Session, batch: list[NewFinding], now: dt.datetime) -> int:
    """Insert the batch's new findings, refresh the known ones; how many were new."""
    ids = [f.finding_id for f in batch]
    known = set(session.scalars(select(Finding.finding_id).where(Finding.finding_id.in_(ids))))
    added = [_values(f) | {"first_seen_at": now, "last_seen_at": now}
             for f in batch if f.finding_id not in known]
    again = [_values(f) | {"last_seen_at": now} for f in batch if f.finding_id in known]
    table = cast(Table, Finding.__table__)
    if added:
        session.execute(insert(table), added)
    if again:
        by_id = update(table).where(table.c.finding_id == bindparam("found_id"))
        session.execute(by_id, [{**values, "found_id": values["finding_id"]} for values in again])
    return len(added)


def _batches(items: list[T], size: int = BATCH) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _values(new: NewFinding) -> dict[str, Any]:
    """A finding as the store's columns (an active finding)."""
    values = {name: getattr(new, name) for name in STORED}
    values["recipients"] = ";".join(new.recipients)
    values["counterpart_person_ids"] = ";".join(new.counterpart_person_ids)
    values["verdict"] = new.verdict.to_json()
    values["active"] = True
    return values


def export_row(finding: Finding, explanation: str) -> dict[str, str]:
    """A stored finding in the export's columns (person ids are the district's own), with
    its sentence as rendered for the exporter."""
    values: dict[str, Any] = {name: getattr(finding, name) for name in EXPORT_COLUMNS[:-1]}
    values["explanation"] = explanation
    values["occurred_at"] = (
        finding.occurred_at.astimezone(dt.UTC)
        if finding.occurred_at.tzinfo
        else finding.occurred_at.replace(tzinfo=dt.UTC)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {k: "" if v is None else str(v) for k, v in values.items()}
