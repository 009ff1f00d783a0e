"""Stable pseudonyms: review shows "Staff 7KQ2M" until a reviewer reveals the name."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from chaperone.store.models import AppSecret

KEY_NAME = "pseudonym-key"


def key(session: Session) -> bytes:
    """The district's pseudonym key, generated on first use and shared by every server."""
    stored = session.get(AppSecret, KEY_NAME)
    if stored is None:
        stored = AppSecret(name=KEY_NAME, value=secrets.token_hex(32))
        session.add(stored)
        session.flush()
    return bytes.fromhex(stored.value)


def pseudonym(secret: bytes, person_id: str, population: str | None) -> str:
    """The same person gets the same pseudonym everywhere; it does not reveal the id."""
    digest = hmac.new(secret, person_id.encode(), hashlib.sha256).digest()
    code = base64.b32encode(digest[:5]).decode()[:6]
    return f"{(population or 'person').capitalize()} {code}"
