"""Who may see what: the viewer, and the query filters that enforce a principal's schools.

Scope is applied in the queries (never only in templates): a principal's people are those
with an org among their schools and the guardians of those students; their findings and
cases are those whose subject is one of their people.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select, true, union

from chaperone.store.models import Case, Finding, GuardianLink, Org, Person, PersonOrg
from chaperone.users.roles import SCOPED_ROLES, Permission, Role, allows


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the services see them."""

    username: str
    role: str
    school_ids: tuple[str, ...] = ()
    reveal_key: str = ""  # the web session names are revealed in ("": none, e.g. the CLI)

    @property
    def scoped(self) -> bool:
        """True when this viewer sees only their schools."""
        return Role(self.role) in SCOPED_ROLES

    def can(self, permission: Permission) -> bool:
        """Whether the viewer's role grants this permission."""
        return allows(self.role, permission)


def _people_pks(viewer: Viewer) -> Select[int]:
    direct = (
        select(PersonOrg.person_pk)
        .join(Org, Org.id == PersonOrg.org_pk)
        .where(Org.org_id.in_(viewer.school_ids))
    )
    guardians = select(GuardianLink.guardian_pk).where(
        GuardianLink.student_pk.in_(direct.scalar_subquery())
    )
    return select(union(direct, guardians).subquery().c[0])


def person_ids(viewer: Viewer) -> Select[str]:
    """The district person ids a scoped viewer may see."""
    return select(Person.person_id).where(Person.id.in_(_people_pks(viewer)))


def people_filter(viewer: Viewer) -> ColumnElement[bool]:
    """Filter on Person rows."""
    if not viewer.scoped:
        return true()
    return Person.id.in_(_people_pks(viewer))


def findings_filter(viewer: Viewer) -> ColumnElement[bool]:
    """Filter on Finding rows: the subject is one of the viewer's people."""
    if not viewer.scoped:
        return true()
    return Finding.subject_person_id.in_(person_ids(viewer))


def cases_filter(viewer: Viewer) -> ColumnElement[bool]:
    """Filter on Case rows: the subject is one of the viewer's people."""
    if not viewer.scoped:
        return true()
    return Case.subject_person_id.in_(person_ids(viewer))
