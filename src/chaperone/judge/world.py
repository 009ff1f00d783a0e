"""What an audit reads besides the records: the directory and registry as plain data.

Both evaluators (SQL over the lake, Python per record) take the same inputs, so
they cannot disagree about who is who or what is approved.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from chaperone.grants import service as grants
from chaperone.grants.service import Grant
from chaperone.registry.models import Platform
from chaperone.registry.service import RegistryView, require_current
from chaperone.store.models import (
    Account,
    GuardianLink,
    ImportRun,
    Person,
    PolicyException,
    PolicyPackVersion,
    RegistrySnapshot,
)

PARTY_POPULATIONS = ("staff", "student", "parent")


@dataclass(frozen=True)
class Party:
    """A person reached through one address, and whether that address is the district's."""

    person_id: str
    population: str
    owned: bool


@dataclass(frozen=True)
class PersonInfo:
    """What an explanation says about a person."""

    name: str
    population: str
    role: str
    schools: tuple[str, ...]


@dataclass
class World:
    """The directory and registry as an audit sees them."""

    timezone: str
    region: str = "US"
    district_domains: list[str] = field(default_factory=list)
    accounts: dict[str, list[Party]] = field(default_factory=dict)
    guardians: set[tuple[str, str]] = field(default_factory=set)
    platforms: dict[str, Platform] = field(default_factory=dict)
    platform_addresses: dict[str, str] = field(default_factory=dict)
    platform_domains: dict[str, str] = field(default_factory=dict)
    platform_prefixes: list[tuple[str, str]] = field(default_factory=list)
    people: dict[str, PersonInfo] = field(default_factory=dict)
    exceptions: list[Grant] = field(default_factory=list)

    def excepted(self, rule_id: str, subject: str, counterparts: Iterable[str], channel: str,
                 day: dt.date) -> bool:
        """Whether a granted exception permits this finding."""
        if not self.exceptions:
            return False
        populations = {c: self.people[c].population for c in counterparts if c in self.people}
        return any(
            g.covers(rule_id=rule_id, subject=subject, counterparts=counterparts,
                     populations=populations, channel=channel, day=day)
            for g in self.exceptions
        )

    def family(self) -> dict[str, frozenset[str]]:
        """Each staff guardian's family: their children and their children's other
        guardians (``subject.family`` is about staff writing as parents)."""
        staff = {party.person_id for parties in self.accounts.values() for party in parties
                 if party.population == "staff"}
        children: dict[str, set[str]] = defaultdict(set)
        guardians: dict[str, set[str]] = defaultdict(set)
        for guardian, child in self.guardians:
            children[guardian].add(child)
            guardians[child].add(guardian)
        return {
            guardian: frozenset(kids | {g for kid in kids for g in guardians[kid]} - {guardian})
            for guardian, kids in children.items() if guardian in staff
        }

    def platform_of(self, address: str) -> str | None:
        """The platform whose identifiers name an address, if any."""
        found = self.platform_addresses.get(address)
        if found is None and "@" in address:
            found = self.platform_domains.get(address.rpartition("@")[2])
        for prefix, platform in self.platform_prefixes:  # the least platform naming it
            if address.startswith(prefix) and (found is None or platform < found):
                found = platform
        return found


def load(session: Session, registry: RegistryView | None = None) -> World:
    """Audit inputs from the store and the registry in force."""
    view = registry or require_current(session)
    district = view.registry.district
    inputs = World(timezone=district.timezone, region=district.default_region,
                         district_domains=list(district.email_domains))
    _platforms(inputs, view)
    people = session.scalars(
        select(Person).options(selectinload(Person.accounts), selectinload(Person.orgs))
    ).all()
    owned: dict[tuple[str, str], bool] = defaultdict(bool)
    for person in people:
        schools = tuple(o.name for o in person.orgs if o.type == "school")
        inputs.people[person.person_id] = PersonInfo(
            person.display_name, person.population, person.role, schools
        )
        for account in person.accounts:
            key = (account.value, person.person_id)
            owned[key] = owned[key] or _owned(account, view)
    populations = {p.person_id: p.population for p in people}
    for (address, person_id), is_owned in sorted(owned.items()):
        party = Party(person_id, populations[person_id], is_owned)
        inputs.accounts.setdefault(address, []).append(party)
    inputs.guardians = _guardians(session)
    inputs.exceptions = grants.active(session)
    return inputs


def version(session: Session) -> tuple[object, ...]:
    """What changes whenever ``load`` would load something else: the newest import,
    registry snapshot, policy pack, person update and exception grant or revocation,
    and the counts of what can be deleted. Cheap: one query of aggregates."""
    row = session.execute(select(
        select(func.max(ImportRun.id)).scalar_subquery(),
        select(func.max(RegistrySnapshot.id)).scalar_subquery(),
        select(func.count(PolicyPackVersion.id)).scalar_subquery(),
        select(func.max(Person.updated_at)).scalar_subquery(),
        select(func.count(Person.id)).scalar_subquery(),
        select(func.count(Account.id)).scalar_subquery(),
        select(func.count(GuardianLink.guardian_pk)).scalar_subquery(),
        select(func.max(PolicyException.id)).scalar_subquery(),
        select(func.max(PolicyException.revoked_at)).scalar_subquery(),
    )).one()
    return tuple(row)


def _owned(account: Account, view: RegistryView) -> bool:
    return bool(account.declared_district_owned) or view.owns(account.kind, account.value)


def _guardians(session: Session) -> set[tuple[str, str]]:
    pks = dict(session.execute(select(Person.id, Person.person_id)).all())
    links = session.execute(select(GuardianLink.guardian_pk, GuardianLink.student_pk)).all()
    return {(pks[g], pks[s]) for g, s in links}


def _platforms(inputs: World, view: RegistryView) -> None:
    for platform in sorted(view.registry.platforms, key=lambda p: p.id):
        inputs.platforms[platform.id] = platform
        for domain in platform.identifiers.email_domains:
            inputs.platform_domains.setdefault(domain, platform.id)
        for number in platform.identifiers.phone_numbers:
            if number.endswith("*"):
                inputs.platform_prefixes.append((number[:-1], platform.id))
            else:
                inputs.platform_addresses.setdefault(number, platform.id)


def tables(inputs: World, *, guardians: bool = True, family: bool = True
           ) -> dict[str, pa.Table]:
    """The inputs as Arrow tables for the SQL engines (``guardians`` and ``family`` empty
    unless asked for).

    ``accounts.person_key`` numbers the persons, for the engines to compare persons
    by a number rather than by their ids' text.
    """
    accounts: tuple[list[object], ...] = ([], [], [], [], [])
    address, person, key, population, owned = accounts
    keys: dict[str, int] = {}
    for value, parties in inputs.accounts.items():
        for party in parties:
            address.append(value)
            person.append(party.person_id)
            key.append(keys.setdefault(party.person_id, len(keys)))
            population.append(party.population)
            owned.append(party.owned)
    links = list(zip(*inputs.guardians, strict=True)) if guardians and inputs.guardians else []
    kin = [(g, r) for g, relatives in inputs.family().items() for r in sorted(relatives)] \
        if family else []
    identifiers = [
        *((i, "address", p) for i, p in inputs.platform_addresses.items()),
        *((i, "domain", p) for i, p in inputs.platform_domains.items()),
        *((i, "prefix", p) for i, p in inputs.platform_prefixes),
    ]
    platforms = list(inputs.platforms.values())
    return {
        "accounts": _columns(
            ["address", "person_id", "person_key", "population", "owned"],
            accounts,
            [pa.string(), pa.string(), pa.int32(), pa.string(), pa.bool_()],
        ),
        "guardians": _columns(
            ["guardian_id", "student_id"], links or ([], []), [pa.string(), pa.string()]
        ),
        "family": _table(["guardian_id", "relative_id"], kin, [pa.string(), pa.string()]),
        "platform_ids": _table(
            ["identifier", "kind", "platform_id"], identifiers, [pa.string()] * 3
        ),
        "platforms": pa.table(
            {
                "platform_id": pa.array([p.id for p in platforms], pa.string()),
                "status": pa.array([p.status for p in platforms], pa.string()),
                "channel_types": pa.array(
                    [list(p.channel_types) for p in platforms], pa.list_(pa.string())
                ),
                "audiences": pa.array(
                    [list(p.audiences) for p in platforms], pa.list_(pa.string())
                ),
                "approved_on": pa.array([p.approved_on for p in platforms], pa.date32()),
                "expires_on": pa.array([p.expires_on for p in platforms], pa.date32()),
            }
        ),
    }


def _table(
    names: list[str], rows: Sequence[tuple[object, ...]], types: list[pa.DataType]
) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return _columns(names, columns, types)


def _columns(
    names: list[str], columns: Sequence[Sequence[object]], types: list[pa.DataType]
) -> pa.Table:
    return pa.table(
        {n: pa.array(c, t) for n, c, t in zip(names, columns, types, strict=True)}
    )
