"""Stable pseudonyms: review shows "Staff 7KQ2M" until a reviewer reveals the name."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy.orm import Session

from chaperone.store.secrets import app_secret


def key(session: Session) -> bytes:
    """The district's pseudonym key, generated on first use and shared by every server."""
    return app_secret(session, "pseudonym-key")


def pseudonym(secret: bytes, person_id: str, population: str | None) -> str:
    """The same person gets the same pseudonym everywhere; it does not reveal the id."""
    digest = hmac.new(secret, person_id.encode(), hashlib.sha256).digest()
    code = base64.b32encode(digest[:5]).decode()[:6]
    return f"{(population or 'person').capitalize()} {code}"
