"""Findings: built from matched facts, stored with stable ids, withdrawn when no longer true."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.audit.explain import explain
from chaperone.audit.inputs import AuditInputs
from chaperone.audit.query import RuleWindow
from chaperone.ingest.record import stable_id
from chaperone.store.models import Finding, utcnow

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
    explanation: str


def build(
    windows: list[RuleWindow], rows: Iterable[dict[str, Any]], inputs: AuditInputs
) -> list[NewFinding]:
    """One finding per matched (rule, record, subject person)."""
    found: dict[str, NewFinding] = {}
    for row in rows:
        for window in windows:
            if row.get(window.column) and not _excepted(window, row, inputs):
                finding = _finding(window, row, inputs)
                found.setdefault(finding.finding_id, finding)
    return sorted(found.values(), key=lambda f: (f.occurred_at, f.finding_id))


def _excepted(window: RuleWindow, row: dict[str, Any], inputs: AuditInputs) -> bool:
    subject = row["subject_id"]
    counterparts = [m for m in row["members"] if m != subject]
    return inputs.excepted(window.rule.id, subject, counterparts, row["record_channel_type"],
                           row["local_date"])


def _finding(window: RuleWindow, row: dict[str, Any], inputs: AuditInputs) -> NewFinding:
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
        explanation=explain(window, row, inputs, list(counterparts)),
    )


@dataclass(frozen=True)
class Saved:
    """What saving an audit's findings changed."""

    total: int
    added: int
    withdrawn: int


def save(
    session: Session,
    findings: list[NewFinding],
    *,
    rule_ids: set[str],
    since: dt.date | None,
    until: dt.date | None,
) -> Saved:
    """Upsert findings by id; withdraw active ones of these rules in the window not found now."""
    now = utcnow()
    existing = {f.finding_id: f for f in session.scalars(select(Finding))}
    added = 0
    for new in findings:
        row = existing.get(new.finding_id)
        if row is None:
            row = Finding(finding_id=new.finding_id, first_seen_at=now)
            session.add(row)
            added += 1
        _copy(new, row)
        row.active, row.last_seen_at = True, now
    current = {f.finding_id for f in findings}
    withdrawn = 0
    for row in existing.values():
        in_window = (since is None or row.local_date >= since) and (
            until is None or row.local_date <= until
        )
        if row.active and row.rule_id in rule_ids and in_window and row.finding_id not in current:
            row.active = False
            withdrawn += 1
    return Saved(len(findings), added, withdrawn)


def _copy(new: NewFinding, row: Finding) -> None:
    for name in (
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
        "explanation",
    ):
        setattr(row, name, getattr(new, name))
    row.recipients = ";".join(new.recipients)
    row.counterpart_person_ids = ";".join(new.counterpart_person_ids)


def export_row(finding: Finding) -> dict[str, str]:
    """A stored finding in the export's columns (person ids are the district's own)."""
    values: dict[str, Any] = {name: getattr(finding, name) for name in EXPORT_COLUMNS}
    values["occurred_at"] = (
        finding.occurred_at.astimezone(dt.UTC)
        if finding.occurred_at.tzinfo
        else finding.occurred_at.replace(tzinfo=dt.UTC)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {k: "" if v is None else str(v) for k, v in values.items()}
