"""Audit-log entries as a viewer may see them: every person id through the identity service.

An auditor (who may not see names) reads the whole log with pseudonyms in place of district
ids, in the people column, in entries about a person and in acknowledgments' actors; the
words of a people search are hidden from them, since they may be a name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from chaperone.audit_log import service as trail
from chaperone.review.access import require
from chaperone.review.identity import Identities
from chaperone.review.scope import Viewer
from chaperone.store.models import TrailEntry
from chaperone.users.roles import Permission

HIDDEN = "(hidden)"
PERSON_ACTOR = "person:"


@dataclass(frozen=True)
class ShownEntry:
    """One audit-log entry with its people as the viewer may see them."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    person_ids: list[str]
    detail: str


def shown_entries(ids: Identities, entries: Sequence[TrailEntry]) -> list[ShownEntry]:
    """The entries with each person id as ``ids`` shows it (people loaded in one go)."""
    people = [[p for p in e.person_ids.split(";") if p] for e in entries]
    ids.load(p for row in people for p in row)
    ids.load(e.object_id for e in entries if e.object_type == "person")
    return [_shown(ids, e, row) for e, row in zip(entries, people, strict=True)]


def _shown(ids: Identities, entry: TrailEntry, people: list[str]) -> ShownEntry:
    object_id = entry.object_id
    if entry.object_type == "person":
        object_id = ids.shown_id(object_id)
    elif entry.object_type == "people" and object_id and not ids.names:
        object_id = HIDDEN
    actor = entry.actor
    if actor.startswith(PERSON_ACTOR):
        actor = PERSON_ACTOR + ids.shown_id(actor.removeprefix(PERSON_ACTOR))
    return ShownEntry(
        seq=entry.seq,
        at=entry.at,
        actor=actor,
        action=entry.action,
        object_type=entry.object_type,
        object_id=object_id,
        person_ids=sorted(ids.shown_id(p) for p in people),
        detail=entry.detail,
    )


def listing(
    session: Session,
    viewer: Viewer,
    *,
    person: str = "",
    before: int | None = None,
    limit: int = 100,
) -> list[ShownEntry]:
    """The newest entries first, optionally those touching one person (named by what the
    viewer is shown of them: the district id, or the pseudonym)."""
    require(viewer, Permission.VIEW_TRAIL)
    ids = Identities.directory(session, viewer)
    person_id = ids.resolve(person) if person.strip() else None
    if person.strip() and person_id is None:
        return []
    return shown_entries(
        ids, trail.entries(session, person_id=person_id, before=before, limit=limit)
    )
