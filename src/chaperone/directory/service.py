"""Directory services: apply an import, count people, find a person by id or address."""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from chaperone.common.addresses import normalize_email, normalize_phone
from chaperone.common.problems import InputError, NotFoundError, Problem
from chaperone.directory.importers.contacts import ContactBatch
from chaperone.directory.populations import POPULATIONS
from chaperone.directory.records import Batch, OrgRecord, PersonRecord
from chaperone.registry.service import RegistryView
from chaperone.store.models import (
    Account,
    GuardianLink,
    ImportRun,
    Org,
    Person,
    PersonOrg,
    utcnow,
)


@dataclass
class Counts:
    """Added, updated, deactivated and unchanged rows of one kind."""

    added: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return bool(self.added or self.updated or self.deactivated)


@dataclass
class ImportSummary:
    """What an import did, per kind of row, and what it skipped or warned about."""

    file: str
    people: Counts = field(default_factory=Counts)
    orgs: Counts = field(default_factory=Counts)
    links: Counts = field(default_factory=Counts)
    accounts: Counts = field(default_factory=Counts)
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the import changed the directory at all."""
        return any(c.changed for c in (self.people, self.orgs, self.links, self.accounts))


def file_digest(path: Path) -> str:
    """SHA-256 of a file or of every file in a folder (names and contents)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def apply_batch(session: Session, batch: Batch, *, skip_bad_rows: bool) -> ImportSummary:
    """Make the directory match a batch; with bad rows and no skip, change nothing."""
    existing = _people_by_id(session)
    rejected = _foreign(batch, existing) + _unknown_orgs(session, batch)
    problems = batch.problems + [problem for _id, problem in rejected]
    if problems and not skip_bad_rows:
        raise InputError(problems)
    summary = ImportSummary(file=batch.file, skipped=sorted(problems), warnings=batch.warnings)
    bad = {person_id for person_id, _problem in rejected}
    orgs = _apply_orgs(session, batch.orgs, batch, summary.orgs)
    for record in batch.people:
        if record.person_id not in bad:
            _apply_person(session, record, existing, orgs, batch.source, summary)
    if batch.bulk:
        _deactivate_missing(batch, existing, bad, summary.people)
    session.flush()
    _apply_links(session, batch, summary.links)
    _record_run(session, batch.source, batch.file, summary)
    return summary


def _people_by_id(session: Session) -> dict[str, Person]:
    query = select(Person).options(selectinload(Person.orgs), selectinload(Person.accounts))
    return {p.person_id: p for p in session.scalars(query)}


def _foreign(batch: Batch, existing: dict[str, Person]) -> list[tuple[str, Problem]]:
    """People a different source already owns cannot be changed by this one."""
    name = Path(batch.file).name
    return [
        (
            r.person_id,
            Problem(
                name, r.line, f'person "{r.person_id}" comes from {existing[r.person_id].source}'
            ),
        )
        for r in batch.people
        if r.person_id in existing and existing[r.person_id].source != batch.source
    ]


def _unknown_orgs(session: Session, batch: Batch) -> list[tuple[str, Problem]]:
    known = {o.org_id for o in batch.orgs} | set(session.scalars(select(Org.org_id)))
    name = Path(batch.file).name
    return [
        (r.person_id, Problem(name, r.line, f'unknown org "{org}"'))
        for r in batch.people
        for org in r.org_ids
        if org not in known
    ]


def _apply_orgs(
    session: Session, records: list[OrgRecord], batch: Batch, counts: Counts
) -> dict[str, Org]:
    orgs = {o.org_id: o for o in session.scalars(select(Org))}
    for record in records:
        org = orgs.get(record.org_id)
        values = (record.name, record.type, record.parent_org_id, record.active)
        if org is None:
            orgs[record.org_id] = org = Org(org_id=record.org_id, source=batch.source)
            session.add(org)
            counts.added += 1
        elif (org.name, org.type, org.parent_org_id, org.active) == values:
            counts.unchanged += 1
            continue
        else:
            counts.updated += 1
        org.name, org.type, org.parent_org_id, org.active = values
    return orgs


def _snapshot(person: Person, source: str) -> tuple[object, ...]:
    accounts = tuple(sorted((a.kind, a.value) for a in person.accounts if a.source == source))
    return (
        person.population,
        person.role,
        person.given_name,
        person.family_name,
        person.grade,
        person.active,
        tuple(sorted(o.org_id for o in person.orgs)),
        accounts,
    )


def _record_snapshot(record: PersonRecord) -> tuple[object, ...]:
    return (
        record.population,
        record.role,
        record.given_name,
        record.family_name,
        record.grade,
        record.active,
        record.org_ids,
        record.accounts,
    )


def _apply_person(
    session: Session,
    record: PersonRecord,
    existing: dict[str, Person],
    orgs: dict[str, Org],
    source: str,
    summary: ImportSummary,
) -> None:
    person = existing.get(record.person_id)
    if person is not None and _snapshot(person, source) == _record_snapshot(record):
        summary.people.unchanged += 1
        return
    if person is None:
        person = existing[record.person_id] = Person(person_id=record.person_id, source=source)
        session.add(person)
        counts_field = "added" if record.active else "deactivated"
    elif person.active and not record.active:
        counts_field = "deactivated"
    else:
        counts_field = "updated"
    setattr(summary.people, counts_field, getattr(summary.people, counts_field) + 1)
    person.population, person.role = record.population, record.role
    person.given_name, person.family_name = record.given_name, record.family_name
    person.grade, person.active, person.updated_at = record.grade, record.active, utcnow()
    person.orgs = [orgs[o] for o in record.org_ids]
    _sync_accounts(person, record.accounts, source, summary.accounts)


def _sync_accounts(
    person: Person, wanted: tuple[tuple[str, str], ...], source: str, counts: Counts
) -> None:
    have = {(a.kind, a.value): a for a in person.accounts if a.source == source}
    for key, account in have.items():
        if key not in wanted:
            person.accounts.remove(account)
            counts.deactivated += 1
    for kind, value in wanted:
        if (kind, value) not in have:
            person.accounts.append(Account(kind=kind, value=value, source=source))
            counts.added += 1


def _deactivate_missing(
    batch: Batch, existing: dict[str, Person], bad: set[str], counts: Counts
) -> None:
    listed = {r.person_id for r in batch.people} | batch.kept | bad
    for person in existing.values():
        if person.source == batch.source and person.active and person.person_id not in listed:
            person.active = False
            person.updated_at = utcnow()
            counts.deactivated += 1


def _apply_links(session: Session, batch: Batch, counts: Counts) -> None:
    if batch.source != "oneroster":
        return
    pks = dict(session.execute(select(Person.person_id, Person.id)).all())
    wanted = {(pks[g], pks[s]) for g, s in batch.links if g in pks and s in pks}
    have = {
        (link.guardian_pk, link.student_pk): link
        for link in session.scalars(select(GuardianLink).where(GuardianLink.source == batch.source))
    }
    for key, link in have.items():
        if key not in wanted and batch.bulk:
            session.delete(link)
            counts.deactivated += 1
    for guardian_pk, student_pk in sorted(wanted - set(have)):
        session.add(
            GuardianLink(guardian_pk=guardian_pk, student_pk=student_pk, source=batch.source)
        )
        counts.added += 1
    counts.unchanged += len(wanted & set(have))


def _record_run(session: Session, kind: str, file: str, summary: ImportSummary) -> None:
    path = Path(file)
    session.add(
        ImportRun(
            kind=kind,
            source_name=path.name,
            sha256=file_digest(path) if path.exists() else "",
            added=summary.people.added,
            updated=summary.people.updated,
            deactivated=summary.people.deactivated,
            unchanged=summary.people.unchanged,
            skipped=len(summary.skipped),
        )
    )


def apply_contacts(session: Session, batch: ContactBatch, *, skip_bad_rows: bool) -> ImportSummary:
    """Add or update the extra accounts of a contacts file."""
    people = _people_by_id(session)
    name = Path(batch.file).name
    problems = batch.problems + [
        Problem(name, c.line, f'unknown person "{c.person_id}"')
        for c in batch.contacts
        if c.person_id not in people
    ]
    if problems and not skip_bad_rows:
        raise InputError(problems)
    summary = ImportSummary(file=batch.file, skipped=sorted(problems))
    for contact in batch.contacts:
        if contact.person_id in people:
            _apply_contact(
                people[contact.person_id],
                contact.kind,
                contact.value,
                contact.district_owned,
                summary.accounts,
            )
    _record_run(session, "contacts", batch.file, summary)
    return summary


def _apply_contact(person: Person, kind: str, value: str, owned: bool, counts: Counts) -> None:
    for account in person.accounts:
        if (account.kind, account.value, account.source) == (kind, value, "contacts"):
            if account.declared_district_owned == owned:
                counts.unchanged += 1
            else:
                account.declared_district_owned = owned
                counts.updated += 1
            return
    person.accounts.append(
        Account(kind=kind, value=value, declared_district_owned=owned, source="contacts")
    )
    counts.added += 1


def stats(session: Session) -> dict[str, int]:
    """Active people per population, every population present."""
    rows = session.execute(
        select(Person.population, func.count()).where(Person.active).group_by(Person.population)
    )
    counts = dict.fromkeys(POPULATIONS, 0)
    counts.update(dict(rows.all()))
    return counts


def stats_by_school(session: Session) -> dict[str, Counter[str]]:
    """Active people per population in each school (by school name)."""
    rows = session.execute(
        select(Org.name, Person.population, func.count())
        .join(PersonOrg, PersonOrg.org_pk == Org.id)
        .join(Person, Person.id == PersonOrg.person_pk)
        .where(Person.active, Org.type == "school")
        .group_by(Org.name, Person.population)
    )
    result: dict[str, Counter[str]] = {}
    for school, population, count in rows:
        result.setdefault(school, Counter())[population] = count
    return dict(sorted(result.items()))


def find(session: Session, key: str, *, region: str) -> Person:
    """A person by district id, e-mail address, phone number or ``platform:handle``."""
    query = select(Person).options(selectinload(Person.orgs), selectinload(Person.accounts))
    person = session.scalars(query.where(Person.person_id == key)).first()
    if person is not None:
        return person
    for kind, value in _account_keys(key, region):
        match = session.scalars(
            query.join(Account).where(Account.kind == kind, Account.value == value)
        ).first()
        if match is not None:
            return match
    raise NotFoundError(f'no person with id or address "{key}"')


def _account_keys(key: str, region: str) -> list[tuple[str, str]]:
    keys = []
    if "@" in key:
        keys.append(("email", normalize_email(key)))
    elif ":" in key:
        keys.append(("social", key.strip().lower()))
    else:
        with contextlib.suppress(ValueError):
            keys.append(("phone", normalize_phone(key, region)))
    return keys


def district_owned(account: Account, registry: RegistryView | None) -> bool:
    """Whether an account is the district's, by declaration or by the registry in force."""
    if account.declared_district_owned:
        return True
    return registry is not None and registry.owns(account.kind, account.value)


def guardians_and_students(session: Session, person: Person) -> tuple[list[Person], list[Person]]:
    """The guardians of a person and the students a person is guardian of."""
    guardians = session.scalars(
        select(Person)
        .join(GuardianLink, GuardianLink.guardian_pk == Person.id)
        .where(GuardianLink.student_pk == person.id)
        .order_by(Person.person_id)
    ).all()
    students = session.scalars(
        select(Person)
        .join(GuardianLink, GuardianLink.student_pk == Person.id)
        .where(GuardianLink.guardian_pk == person.id)
        .order_by(Person.person_id)
    ).all()
    return list(guardians), list(students)
