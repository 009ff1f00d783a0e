"""finding verdicts (structured, explanations rendered when read)

A finding stored its explanation as a sentence, with the subject's name in it as it
was at audit time. It now stores a verdict (data: rule, branch, failed check, person
ids with populations, account kinds, platform, alternative) and the sentence is
rendered when it is read, for the reader. Existing findings keep their finding_id;
their verdicts are built here from what each finding holds, marked ``complete:
false`` (the failed check and the alternative are not known from the old columns),
and the next ``chaperone audit`` re-derives them in full from the lake. The old
sentences, with names in them, are dropped.

This migration imports nothing of Chaperone's code: it must give the same result
whatever later versions of the code do.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 03:15:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

# The sentences the gateway's stopped mail ended with (lake/decisions.py, 2026-11).
STOPPED = {
    "REJECT": "The district's mail gateway refused it before delivery (REJECT).",
    "HOLD": "The district's mail gateway held it for review before delivery (HOLD).",
}
findings = sa.table(
    "findings",
    sa.column("finding_id", sa.String),
    sa.column("rule_id", sa.String),
    sa.column("policy_version", sa.String),
    sa.column("channel_type", sa.String),
    sa.column("platform", sa.String),
    sa.column("sender", sa.String),
    sa.column("subject_person_id", sa.String),
    sa.column("counterpart_person_ids", sa.Text),
    sa.column("explanation", sa.Text),
    sa.column("verdict", sa.Text),
)
people = sa.table("people", sa.column("person_id", sa.String), sa.column("population", sa.String))


def upgrade() -> None:
    """Add ``verdict``, fill it for every finding, then drop ``explanation``.

    ``verdict`` stays nullable in the schema: making it NOT NULL would make SQLite copy
    the table, and the audit always writes one."""
    bind = op.get_bind()
    op.add_column("findings", sa.Column("verdict", sa.Text(), nullable=True))
    populations = dict(bind.execute(sa.select(people.c.person_id, people.c.population)).all())
    rows = bind.execute(sa.select(findings)).all()
    for row in rows:
        bind.execute(
            findings.update().where(findings.c.finding_id == row.finding_id)
            .values(verdict=_verdict(row, populations))
        )
    # A plain DROP COLUMN (SQLite 3.35+, PostgreSQL): no table copy, so the case and
    # review rows that refer to findings are left as they are.
    op.execute("ALTER TABLE findings DROP COLUMN explanation")


def _verdict(row: sa.Row[object], populations: dict[str, str]) -> str:
    counterparts = [p for p in str(row.counterpart_person_ids).split(";") if p]
    explanation = str(row.explanation or "")
    stopped = next((a for a, note in STOPPED.items() if explanation.endswith(note)), None)
    subject = str(row.subject_person_id)
    verdict = {
        "format": 1,
        "rule_id": row.rule_id,
        "policy_version": row.policy_version,
        "branch": "platform" if row.platform else "direct",
        "channel_type": row.channel_type,
        "platform": row.platform,
        "subject": subject,
        "subject_population": populations.get(subject, "unknown"),
        "subject_is_sender": False,
        "subject_account": "district",
        "counterparts": [[p, populations.get(p, "unknown")] for p in counterparts],
        "student_accounts": "district",
        "account_kind": "phone" if str(row.sender).startswith("+") else "email",
        "failed": None,
        "failed_detail": None,
        "failed_on": None,
        "alternative": None,
        "stopped": stopped,
        "complete": False,
    }
    return json.dumps(verdict, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def downgrade() -> None:
    """Bring back ``explanation`` (a plain sentence without names) and drop ``verdict``."""
    op.add_column("findings", sa.Column("explanation", sa.Text(), nullable=True))
    op.execute(
        "UPDATE findings SET explanation = 'Finding of rule ' || rule_id "
        "|| '; run chaperone audit to explain it again.'"
    )
    op.execute("ALTER TABLE findings DROP COLUMN verdict")
