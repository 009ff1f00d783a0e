"""``chaperone findings export``: the columns of docs/commands/findings.md, exactly."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.audit.findings import EXPORT_COLUMNS, export_row
from chaperone.audit_log import service as trail
from chaperone.judge.reading import sentences
from chaperone.store.models import Finding


def active_findings(session: Session) -> list[Finding]:
    """Active findings, oldest first."""
    query = select(Finding).where(Finding.active).order_by(Finding.occurred_at, Finding.finding_id)
    return list(session.scalars(query))


def export(session: Session, out: Path, fmt: str, *, actor: str = "cli") -> int:
    """Write active findings as CSV or JSON (atomically), and log the export; returns how many."""
    findings = active_findings(session)
    said = sentences(session, findings)
    rows = [export_row(f, said[f.finding_id]) for f in findings]
    people = {
        p
        for f in findings
        for p in [f.subject_person_id, *f.counterpart_person_ids.split(";")]
        if p
    }
    trail.record(
        session,
        actor=actor,
        action="export",
        object_type="findings",
        object_id=str(out),
        person_ids=people,
        detail=f"findings export of {len(rows)} findings to {out}",
    )
    temporary = out.with_name(f".{out.name}.tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        if fmt == "json":
            json.dump(rows, handle, indent=2)
        else:
            writer = csv.DictWriter(handle, EXPORT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    temporary.replace(out)
    return len(rows)
