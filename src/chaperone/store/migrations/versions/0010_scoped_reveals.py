"""review reveals scoped to a finding or case

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 03:15:00
"""

from __future__ import annotations

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this migration."""


def downgrade() -> None:
    """Revert this migration."""
