"""The keyed chain: each entry's MAC is an HMAC-SHA256, under a key kept outside the store,
of the previous entry's MAC and the entry's own fields (its person ids among them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Protocol

from sqlalchemy.orm import Session

from chaperone.common.problems import ChaperoneError
from chaperone.store.keys import AUDIT_LOG, AuditLogKeys

GENESIS = "0" * 64


class Sealed(Protocol):
    """An entry as the chain sees it: a `TrailEntry`, or a row of the audit_log table."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> dt.datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def object_type(self) -> str: ...
    @property
    def object_id(self) -> str: ...
    @property
    def person_ids(self) -> str: ...
    @property
    def detail(self) -> str: ...


def keys_of(session: Session) -> AuditLogKeys:
    """The audit log's key bound to this session by `open_store`; refuse to go on without it."""
    keys = session.info.get(AUDIT_LOG)
    if not isinstance(keys, AuditLogKeys):
        raise ChaperoneError(
            "the audit log's key is not bound to this session (open the store with open_store)"
        )
    return keys


def body(entry: Sealed) -> str:
    """The entry's fields as the MAC covers them (a stored naive time is UTC, as written)."""
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=dt.UTC)
    return json.dumps(
        [
            entry.seq,
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            entry.actor,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.person_ids,
            entry.detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def mac(key: bytes, prev_mac: str, entry: Sealed) -> str:
    """The entry's MAC, chained to the previous entry's."""
    return hmac.new(key, (prev_mac + body(entry)).encode(), hashlib.sha256).hexdigest()


def people(entry: Sealed) -> set[str]:
    """The person ids the entry names (what its record-of-access index must hold)."""
    return {person for person in entry.person_ids.split(";") if person}
