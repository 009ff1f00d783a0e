"""Reading findings: their verdicts, and the wording that renders them from the store.

``wording`` builds what ``render`` needs from the store as it stands (the registry in
force, every pack version) around a ``describe`` the caller chooses for its reader;
``directory_names`` is that function for a reader entitled to real names (an export
by someone allowed to make one, the report).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from chaperone.judge.render import Wording, person_phrase, render
from chaperone.judge.verdicts import Verdict
from chaperone.policy import service as policy
from chaperone.registry import service as registry
from chaperone.store.models import Finding, Person

CHUNK = 500  # ids per IN (…) list


def verdict_of(finding: Finding) -> Verdict:
    """A stored finding's verdict."""
    return Verdict.from_json(finding.verdict)


def wording(session: Session, describe: Callable[[str], str]) -> Wording:
    """A Wording for one reader, with the registry in force and every pack version."""
    view = registry.current(session)
    platforms = {p.id: p for p in view.registry.platforms} if view else {}
    packs = {p.spec.version: p for p in policy.versions(session)}
    return Wording(describe=describe, platforms=platforms, packs=packs)


def directory_names(session: Session, person_ids: Iterable[str]) -> Callable[[str], str]:
    """``describe`` with real names: ``Dana Ito (teacher, Hillcrest High School)``."""
    wanted = sorted(set(person_ids))
    phrases: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        query = (select(Person).where(Person.person_id.in_(wanted[start:start + CHUNK]))
                 .options(selectinload(Person.orgs)))
        for person in session.scalars(query):
            schools = tuple(o.name for o in person.orgs if o.type == "school")
            phrases[person.person_id] = person_phrase(person.display_name, person.role, schools)
    return lambda person_id: phrases.get(person_id, person_id)


def sentences(session: Session, findings: list[Finding]) -> dict[str, str]:
    """Each finding's sentence with real names (finding id → sentence)."""
    found = {f.finding_id: verdict_of(f) for f in findings}
    names = directory_names(session, (v.subject for v in found.values()))
    words = wording(session, names)
    return {finding_id: render(verdict, words) for finding_id, verdict in found.items()}
