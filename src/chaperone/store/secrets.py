"""Secrets the application generates once and keeps in the store, shared by every server."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from chaperone.store.models import AppSecret


def app_secret(session: Session, name: str) -> bytes:
    """The named 32-byte secret, generated on first use."""
    stored = session.get(AppSecret, name)
    if stored is None:
        stored = AppSecret(name=name, value=secrets.token_hex(32))
        session.add(stored)
        session.flush()
    return bytes.fromhex(stored.value)
