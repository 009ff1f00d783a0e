"""OneRoster 1.1 and 1.2 CSV bundles (IMS Global / 1EdTech) into the directory.

Version comes from ``manifest.csv`` (``oneroster.version``) or, when the manifest
does not say, from the presence of ``roles.csv`` (1.2). Columns are read by header
name; vendor ``metadata.*`` and ``ext_*`` columns are ignored. Only what Policy
9052 needs is kept: names, population, orgs, grade level, accounts and family
links. ``password``, user profiles, demographics and ``middleName`` are never read.
A family link (``agentSourcedIds`` on either side) joins a student to a guardian of any
population: a teacher who is also a parent (a second ``guardian`` role in 1.2) keeps
the link to their child, and stays staff.

A bad *required* value (an id, a role, an org reference, a name, an e-mail) is a
problem that refuses the import (``--skip-bad-rows`` skips its row); a bad *optional*
value (``phone``, ``sms``, the grade) is dropped from its row with a warning naming
file, line and value, and the row is imported without it: one unparseable phone
number never keeps a district's roster out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from chaperone.common.addresses import checked_email, normalize_phone
from chaperone.common.csvfile import CsvTable, Row
from chaperone.common.problems import InputError, Problem
from chaperone.directory.importers.bundle import Bundle
from chaperone.directory.records import Batch, OrgRecord, PersonRecord, bad_ids, oversized

ROLE_POPULATIONS = {
    **dict.fromkeys(
        (
            "teacher",
            "aide",
            "proctor",
            "counselor",
            "principal",
            "siteAdministrator",
            "districtAdministrator",
            "systemAdministrator",
            "administrator",
            "manager",
        ),
        "staff",
    ),
    "student": "student",
    **dict.fromkeys(("parent", "guardian", "relative"), "parent"),
}
_ROLES_BY_FOLDED = {role.casefold(): role for role in ROLE_POPULATIONS}
ORG_TYPES = ("district", "school", "department", "local", "state", "national")
STATUSES = {"": True, "active": True, "tobedeleted": False}
SUPPORTED_VERSIONS = ("1.1", "1.2")
GRADE_LIMIT = 20  # the store's grade column; OneRoster's CEDS codes are two characters

ORG_COLUMNS = ("sourcedId", "name", "type")
USER_COLUMNS = {
    "1.1": ("sourcedId", "role", "orgSourcedIds", "givenName", "familyName"),
    "1.2": ("sourcedId", "givenName", "familyName"),
}
ROLE_COLUMNS = ("userSourcedId", "role", "orgSourcedId")


@dataclass(frozen=True)
class _Role:
    primary: bool
    role: str
    org: str
    source: str
    line: int
    active: bool = True


@dataclass
class _User:
    row: Row
    all_roles: list[_Role] = field(default_factory=list)

    @property
    def roles(self) -> list[_Role]:
        """Active roles; a user being deleted keeps the roles being deleted with it."""
        return [r for r in self.all_roles if r.active] or self.all_roles


class OneRosterImporter:
    """Reads a OneRoster bundle into a Batch of orgs, people and guardian links."""

    source = "oneroster"

    def __init__(self, path: Path, *, region: str) -> None:
        self.bundle = Bundle(path)
        self.region = region
        self.batch = Batch(source=self.source, file=str(path))

    def read(self) -> Batch:
        """Parse the whole bundle; problems are collected in the batch, not raised.

        Problems with the bundle's shape (a missing manifest or file, an unsupported
        version, a header without a required column) are raised together first, every
        one of them, since no row of a file without its columns can be read.
        """
        manifest, version, tables = self._structure()
        self.batch.bulk = manifest.get("file.users", "bulk") != "delta"
        orgs = self._orgs(tables["orgs.csv"])
        users = self._users(tables["users.csv"], version)
        if version == "1.2":
            self._roles(tables["roles.csv"], users)
        people = {uid: self._person(uid, u, orgs) for uid, u in users.items()}
        self.batch.people = [p for p in people.values() if p is not None]
        self._links(users, {p.person_id: p for p in self.batch.people})
        return self.batch

    def _structure(self) -> tuple[dict[str, str], str, dict[str, CsvTable]]:
        """The manifest, the version and the files to read, or every shape problem at once."""
        problems: list[Problem] = []
        manifest: dict[str, str] = {}
        if not self.bundle.has("manifest.csv"):
            problems.append(
                Problem("manifest.csv", None, "missing; a OneRoster 1.1/1.2 bundle must carry one")
            )
        else:
            table = self._table("manifest.csv", ("propertyName", "value"), problems)
            if table is not None:
                manifest = {r.get("propertyName"): r.get("value") for r in table.rows()}
        version = manifest.get("oneroster.version") or (
            "1.2" if self.bundle.has("roles.csv") else "1.1"
        )
        if version not in SUPPORTED_VERSIONS:
            problems.append(
                Problem("manifest.csv", None, f"unsupported OneRoster version {version}")
            )
            version = "1.2" if self.bundle.has("roles.csv") else "1.1"
        required = {"orgs.csv": ORG_COLUMNS, "users.csv": USER_COLUMNS[version]}
        if version == "1.2":
            required["roles.csv"] = ROLE_COLUMNS
        tables = {name: self._table(name, columns, problems) for name, columns in required.items()}
        if problems:
            raise InputError(problems)
        return manifest, version, {name: t for name, t in tables.items() if t is not None}

    def _problem(self, source: str, line: int | None, message: str) -> None:
        self.batch.problems.append(Problem(source, line, message))

    def _table(
        self, name: str, required: Iterable[str], problems: list[Problem]
    ) -> CsvTable | None:
        """A file of the bundle with its required columns, else None and its problems."""
        try:
            table = self.bundle.table(name)
        except InputError as exc:
            problems.extend(exc.problems)
            return None
        missing = table.missing(tuple(required))
        problems.extend(missing)
        return None if missing else table

    def _orgs(self, table: CsvTable) -> set[str]:
        seen: set[str] = set()
        for row in table.rows():
            org_id, org_type, status = row.get("sourcedId"), row.get("type"), row.get("status")
            if not org_id:
                self._problem(table.source, row.line, "empty sourcedId")
            elif org_id in seen:
                self._problem(table.source, row.line, f'duplicate org "{org_id}"')
            elif too_long := oversized(sourcedId=org_id, name=row.get("name")):
                self._problem(table.source, row.line, too_long[0])
            elif org_type not in ORG_TYPES:
                self._problem(table.source, row.line, f'unknown org type "{org_type}"')
            elif status.lower() not in STATUSES:
                self._problem(table.source, row.line, f'unknown status "{status}"')
            else:
                seen.add(org_id)
                self.batch.orgs.append(
                    OrgRecord(
                        org_id,
                        row.get("name"),
                        org_type,
                        row.get("parentSourcedId") or None,
                        STATUSES[status.lower()],
                    )
                )
        return seen

    def _users(self, table: CsvTable, version: str) -> dict[str, _User]:
        users: dict[str, _User] = {}
        for row in table.rows():
            uid = row.get("sourcedId")
            if not uid:
                self._problem(table.source, row.line, "empty sourcedId")
                continue
            if uid in users:
                self._problem(table.source, row.line, f'duplicate user "{uid}"')
                continue
            user = users[uid] = _User(row)
            if version == "1.1":
                for org in _split(row.get("orgSourcedIds")) or [""]:
                    user.all_roles.append(_Role(True, row.get("role"), org, table.source, row.line))
        return users

    def _roles(self, table: CsvTable, users: dict[str, _User]) -> None:
        for row in table.rows():
            user = users.get(row.get("userSourcedId"))
            if user is None:
                self._problem(table.source, row.line, f'unknown user "{row.get("userSourcedId")}"')
            else:
                primary = row.get("roleType").lower() != "secondary"
                active = row.get("status").lower() != "tobedeleted"
                user.all_roles.append(
                    _Role(
                        primary,
                        row.get("role"),
                        row.get("orgSourcedId"),
                        table.source,
                        row.line,
                        active,
                    )
                )

    def _person(self, uid: str, user: _User, orgs: set[str]) -> PersonRecord | None:
        row = user.row
        before = len(self.batch.problems)
        status = row.get("status").lower()
        if status not in STATUSES:
            self._problem("users.csv", row.line, f'unknown status "{row.get("status")}"')
        role = self._primary_role(user)
        for reason in oversized(
            sourcedId=uid, givenName=row.get("givenName"), familyName=row.get("familyName")
        ):
            self._problem("users.csv", row.line, reason)
        for reason in bad_ids(sourcedId=uid):
            self._problem("users.csv", row.line, reason)
        accounts = self._accounts(row)
        org_ids = self._org_ids(user, orgs)
        if len(self.batch.problems) > before or role is None:
            self.batch.kept.add(uid)
            return None
        population = ROLE_POPULATIONS[role]
        grade = self._grade(row) if population == "student" else None
        return PersonRecord(
            person_id=uid,
            population=population,
            role=role,
            given_name=row.get("givenName"),
            family_name=row.get("familyName"),
            grade=grade,
            org_ids=tuple(sorted(org_ids)),
            accounts=accounts,
            active=STATUSES.get(status, True),
            line=row.line,
        )

    def _primary_role(self, user: _User) -> str | None:
        if not user.roles:
            self._problem(
                "users.csv", user.row.line, f'user "{user.row.get("sourcedId")}" has no role'
            )
            return None
        unknown = [r for r in user.roles if r.role.casefold() not in _ROLES_BY_FOLDED]
        for r in unknown:
            self._problem(r.source, r.line, f'unknown role "{r.role}"')
        if unknown:
            return None
        first = sorted(user.roles, key=lambda r: not r.primary)[0]
        return _ROLES_BY_FOLDED[first.role.casefold()]

    def _org_ids(self, user: _User, orgs: set[str]) -> set[str]:
        located = [(r.org, r.source, r.line) for r in user.roles if r.org]
        if user.row.get("primaryOrgSourcedId"):
            located.append((user.row.get("primaryOrgSourcedId"), "users.csv", user.row.line))
        for org, source, line in located:
            if org not in orgs:
                self._problem(source, line, f'unknown org "{org}"')
        return {org for org, _source, _line in located}

    def _accounts(self, row: Row) -> tuple[tuple[str, str], ...]:
        accounts: set[tuple[str, str]] = set()
        if row.get("email"):
            try:
                accounts.add(("email", checked_email(row.get("email"))))
            except ValueError as exc:
                self._problem("users.csv", row.line, f"{exc} in email")
        for column in ("sms", "phone"):
            if row.get(column):
                try:
                    accounts.add(("phone", normalize_phone(row.get(column), self.region)))
                except ValueError as exc:
                    self._dropped(row, f"{exc} in {column}")
        return tuple(sorted(accounts))

    def _grade(self, row: Row) -> str | None:
        """The grade level (the first of ``grades``); a value no grade can be is dropped."""
        grades = _split(row.get("grades"))
        if not grades:
            return None
        grade = grades[0]
        if len(grade) > GRADE_LIMIT or not grade.isprintable():
            self._dropped(row, f'invalid grade "{grade[:40]}" in grades')
            return None
        return grade

    def _dropped(self, row: Row, reason: str) -> None:
        """An optional value left out of its row: a warning, and the row goes on."""
        self.batch.warnings.append(Problem("users.csv", row.line, f"{reason}; dropped"))

    def _links(self, users: dict[str, _User], people: dict[str, PersonRecord]) -> None:
        for uid, user in users.items():
            agents = user.row.get("agentSourcedIds") or user.row.get("agents")
            for agent in _split(agents):
                self._link(uid, agent, people, user.row.line)

    def _link(self, uid: str, agent: str, people: dict[str, PersonRecord], line: int) -> None:
        me, other = people.get(uid), people.get(agent)
        if me is None:
            return
        if other is None:
            if agent not in self.batch.kept:
                self.batch.warnings.append(
                    Problem("users.csv", line, f'unknown agent "{agent}"; link ignored')
                )
            return
        students = [p for p in (me, other) if p.population == "student"]
        if len(students) == 1:  # a guardian, whatever else they are (a teacher's own child)
            (student,) = students
            guardian = other if student is me else me
            self.batch.links.add((guardian.person_id, student.person_id))
        else:
            self.batch.warnings.append(
                Problem(
                    "users.csv",
                    line,
                    f'agent "{agent}" of "{uid}" is not a guardian-student pair '
                    f"({me.population} and {other.population}); link ignored",
                )
            )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
