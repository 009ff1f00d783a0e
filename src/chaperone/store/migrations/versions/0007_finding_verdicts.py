"""finding verdicts (structured, explanations rendered when read)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 03:15:00
"""

from __future__ import annotations

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this migration."""


def downgrade() -> None:
    """Revert this migration."""
