"""The one door to a person's identity: what a viewer may see of a person's name, addresses
and district id, in one context (a finding, a case, the directory).

Every page, API answer, listing and log view that shows a person asks an ``Identities``:

    ids = Identities.on(session, viewer, "finding", finding_id)   # reveals made on it
    ids.load(person_ids)                                          # one query for many
    ids.label(person_id)     # "Ana Ruiz" if this viewer may see her here, else "Student 5BGU7N"
    ids.shown_id(person_id)  # her district id, or the same pseudonym
    ids.may_see(person_id)

Two rights open the door. A reveal, made with a reason on one finding or case (see
``chaperone.review.reveals``), unmasks that finding's or case's people there only. In the
directory (people search and pages, the audit log, records of access) a role that may both
reveal names and view people sees the names of the people in its scope without a reveal;
everyone else, the auditor among them, sees pseudonyms there too, ids included.
``label`` is a plain ``Callable[[str], str]``, so it can name people in rendered sentences.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from chaperone.review import pseudonyms, reveals
from chaperone.review.scope import Viewer, people_filter
from chaperone.store.models import Person
from chaperone.users.roles import Permission

CHUNK = 500


def sees_directory(viewer: Viewer) -> bool:
    """Whether this role sees names in the directory (in its scope) without a reveal."""
    return viewer.can(Permission.REVEAL_NAMES) and viewer.can(Permission.VIEW_PEOPLE)


def mask(address: str) -> str:
    """``j•••@example.org`` / ``+1•••0123``: enough to see the kind of account, not whose."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}•••@{domain}"
    if address.startswith("+") and len(address) > 6:
        return f"{address[:2]}•••{address[-4:]}"
    return "•••"


class Identities:
    """Names, ids and addresses of people as one viewer may see them in one context."""

    def __init__(
        self,
        session: Session,
        viewer: Viewer,
        revealed: Iterable[str] = (),
        *,
        directory: bool = False,
    ) -> None:
        self.session = session
        self.viewer = viewer
        self.revealed = frozenset(revealed)
        self.names = directory and sees_directory(viewer)
        self._key = pseudonyms.key(session)
        self._people: dict[str, Person | None] = {}
        self._scope: dict[str, bool] = {}

    @classmethod
    def directory(cls, session: Session, viewer: Viewer) -> Identities:
        """The directory's view: names in scope for roles with the right, else pseudonyms."""
        return cls(session, viewer, directory=True)

    @classmethod
    def on(cls, session: Session, viewer: Viewer, object_type: str, object_id: str) -> Identities:
        """A finding's or case's view: pseudonyms except whom this session revealed on it."""
        return cls(session, viewer, reveals.revealed(session, viewer, object_type, object_id))

    def within(self, revealed: Iterable[str]) -> Identities:
        """The same viewer in another context (another finding's reveals), sharing the cache."""
        other = Identities.__new__(Identities)
        other.__dict__.update(self.__dict__)
        other.revealed = frozenset(revealed)
        return other

    def load(self, person_ids: Iterable[str]) -> None:
        """Fetch many people (and, for a scoped viewer, whether they are in scope) at once."""
        wanted = [p for p in dict.fromkeys(person_ids) if p and p not in self._people]
        for chunk in (wanted[i : i + CHUNK] for i in range(0, len(wanted), CHUNK)):
            found = {
                p.person_id: p
                for p in self.session.scalars(
                    select(Person)
                    .where(Person.person_id.in_(chunk))
                    .options(selectinload(Person.orgs))  # schools go with a label
                )
            }
            for person_id in chunk:
                self._people[person_id] = found.get(person_id)
            if self.names and self.viewer.scoped:
                mine = set(
                    self.session.scalars(
                        select(Person.person_id).where(
                            Person.person_id.in_(chunk), people_filter(self.viewer)
                        )
                    )
                )
                self._scope.update({p: p in mine for p in chunk})

    def person(self, person_id: str) -> Person | None:
        """The directory's person (cached); for what the viewer may see of them, ask below."""
        if person_id not in self._people:
            self.load([person_id])
        return self._people.get(person_id)

    def in_scope(self, person_id: str) -> bool:
        """Whether the person is among the viewer's people (always, for an unscoped role)."""
        if not self.viewer.scoped:
            return True
        if person_id not in self._scope:
            self._scope[person_id] = (
                self.session.scalar(
                    select(Person.id).where(
                        Person.person_id == person_id, people_filter(self.viewer)
                    )
                )
                is not None
            )
        return self._scope[person_id]

    def may_see(self, person_id: str) -> bool:
        """Whether this viewer may see who the person is, here."""
        if person_id in self.revealed:
            return True
        return self.names and self.in_scope(person_id)

    def pseudonym(self, person_id: str) -> str:
        """The person's stable pseudonym ("Staff 5BGU7N"), the same for every viewer."""
        person = self.person(person_id)
        return self.pseudonym_of(person_id, person.population if person else None)

    def pseudonym_of(self, person_id: str, population: str | None) -> str:
        """The pseudonym, when the population is already known (no query)."""
        return pseudonyms.pseudonym(self._key, person_id, population)

    def label(self, person_id: str) -> str:
        """The person's name when the viewer may see it here, else the pseudonym."""
        person = self.person(person_id)
        if person is not None and self.may_see(person_id):
            return person.display_name
        return self.pseudonym(person_id)

    def shown_id(self, person_id: str) -> str:
        """The district id when the viewer may see it here, else the pseudonym (never the id)."""
        return person_id if self.may_see(person_id) else self.pseudonym(person_id)

    def address(self, value: str, owners: Iterable[str]) -> str:
        """An address in clear only when the viewer may see every person it could belong to."""
        return value if all(self.may_see(p) for p in owners) else mask(value)

    def resolve(self, shown: str) -> str | None:
        """The district id behind what the viewer was shown (a pseudonym, or an id they may
        see); None otherwise: an id the viewer may not see names nobody, so guessing ids
        tells them nothing."""
        shown = shown.strip()
        population, _, code = shown.partition(" ")
        if code and " " not in code:
            candidates = self.session.scalars(
                select(Person.person_id).where(Person.population == population.lower())
            )
            for person_id in candidates:
                if self.pseudonym_of(person_id, population.lower()) == shown:
                    return person_id
        if shown and self.names and self.in_scope(shown):
            return shown
        return None
