"""Alembic environment: runs against the engine the caller put in config.attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from chaperone.store.models import Base

engine: Engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
