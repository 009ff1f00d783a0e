"""web sign-in and session hardening

Single sign-on users are linked to their identity provider's stable subject (issuer and
``sub``) on first sign-in; sessions carry a one-time message (the "flash") shown by the
next page, so success banners never come from the URL.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 03:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("oidc_subject", sa.String(length=600), nullable=True))
        users.create_index("ix_users_oidc_subject", ["oidc_subject"], unique=True)
    with op.batch_alter_table("web_sessions") as sessions:
        sessions.add_column(sa.Column("flash", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("web_sessions") as sessions:
        sessions.drop_column("flash")
    with op.batch_alter_table("users") as users:
        users.drop_index("ix_users_oidc_subject")
        users.drop_column("oidc_subject")
