"""web sign-in and session hardening

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 03:15:00
"""

from __future__ import annotations

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this migration."""


def downgrade() -> None:
    """Revert this migration."""
