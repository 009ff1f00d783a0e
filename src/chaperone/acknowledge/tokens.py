"""The private link of a notice: derived when needed, never stored, found by its hash.

``derive`` gives the same token for a notice every time (an HMAC of the campaign, the
person and the notice's nonce under the link key), so a reminder carries the same link as
the first notice; changing the nonce revokes it. The store keeps only the token's SHA-256,
and the key is kept outside the store (a key file, see ``store.secrets.link_key``), so a
copy of the database holds no working link and cannot make one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy.orm import Session

from chaperone.store.secrets import link_key


def secret(session: Session) -> bytes:
    """The key of acknowledgment links (from its key file, outside the store)."""
    return link_key(session)


def derive(key: bytes, campaign_id: int, person_id: str, nonce: str) -> str:
    """A notice's token: 32 URL-safe characters (192 bits)."""
    mac = hmac.new(key, f"{campaign_id}\x1f{person_id}\x1f{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode()


def digest(token: str) -> str:
    """What the store keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()
