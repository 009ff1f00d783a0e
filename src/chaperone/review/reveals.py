"""Reveals: a reviewer unmasks the people of one finding or case, with a reason.

Each reveal is written to the audit log (who, which finding or case, whose names, why) and
kept for the web session it was made in, for that finding or case only: the same person
stays pseudonymised in every other row of the queue, on other findings and on cases.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.audit_log import service as trail
from chaperone.common.problems import ChaperoneError
from chaperone.review.access import require
from chaperone.review.scope import Viewer
from chaperone.store.models import Reveal
from chaperone.users.roles import Permission

OBJECT_TYPES = ("finding", "case")


def record(
    session: Session,
    viewer: Viewer,
    *,
    object_type: str,
    object_id: str,
    person_ids: Iterable[str],
    reason: str,
) -> list[str]:
    """Reveal these people on this finding or case (recorded with the reason); their ids."""
    require(viewer, Permission.REVEAL_NAMES)
    if object_type not in OBJECT_TYPES:
        raise ChaperoneError(f"names are revealed on a finding or a case, not a {object_type}")
    if not reason.strip():
        raise ChaperoneError("say why the names are needed")
    people = sorted(set(filter(None, person_ids)))
    trail.record(
        session,
        actor=viewer.username,
        action="reveal",
        object_type=object_type,
        object_id=object_id,
        person_ids=people,
        detail=reason.strip()[:500],
    )
    if viewer.reveal_key:
        known = revealed(session, viewer, object_type, object_id)
        for person_id in people:
            if person_id not in known:
                session.add(
                    Reveal(
                        session_hash=viewer.reveal_key,
                        object_type=object_type,
                        object_id=object_id,
                        person_id=person_id,
                    )
                )
        session.flush()
    return people


def revealed(session: Session, viewer: Viewer, object_type: str, object_id: str) -> set[str]:
    """Whom this viewer's session revealed on this finding or case."""
    return revealed_on(session, viewer, object_type, [object_id]).get(object_id, set())


def revealed_on(
    session: Session, viewer: Viewer, object_type: str, object_ids: Iterable[str]
) -> dict[str, set[str]]:
    """Whom this viewer's session revealed on each of these findings or cases (one query)."""
    wanted = list(dict.fromkeys(object_ids))
    if not viewer.reveal_key or not wanted:
        return {}
    rows = session.execute(
        select(Reveal.object_id, Reveal.person_id).where(
            Reveal.session_hash == viewer.reveal_key,
            Reveal.object_type == object_type,
            Reveal.object_id.in_(wanted),
        )
    )
    found: dict[str, set[str]] = {}
    for object_id, person_id in rows:
        found.setdefault(object_id, set()).add(person_id)
    return found
