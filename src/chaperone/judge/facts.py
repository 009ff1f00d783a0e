"""The facts in Python, for one record: the same rows as the SQL relation
(``judge.facts_sql``), keyed by vocabulary field names. The gateway judges one
message this way; property tests hold the two paths to one answer.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from typing import Any

from chaperone.judge import approval
from chaperone.judge.world import PARTY_POPULATIONS, Party, World

FactRow = dict[str, Any]
Reach = tuple[tuple[Party, ...], str | None]  # an address's persons, and the platform it names


class FactsIndex:
    """What each address of the directory reaches, looked up once for many records.

    The persons behind an address and the platform its identifiers name do not depend
    on the record, so an evaluator that judges many records (an audit's Python loop,
    the gateway between two reloads) builds this once; addresses outside the directory
    are looked up as they come. The inputs must not change while an index is in use.
    """

    def __init__(self, inputs: World, *, eager: bool = True) -> None:
        self.inputs = inputs
        self.zone = zoneinfo.ZoneInfo(inputs.timezone)
        self.reach: dict[str, Reach] = {
            address: (tuple(parties), inputs.platform_of(address))
            for address, parties in (inputs.accounts.items() if eager else ())
        }
        self.guardian_ids = frozenset(g for g, _s in inputs.guardians) if eager else None
        self.family = inputs.family()

    def of(self, address: str) -> Reach:
        """The persons an address reaches and the platform it names."""
        found = self.reach.get(address)
        if found is None:
            inputs = self.inputs
            found = (tuple(inputs.accounts.get(address, ())), inputs.platform_of(address))
        return found


Parties = dict[str, list[Any]]  # person id -> [population, is sender, owned]


def record_parties(record: Mapping[str, Any], index: FactsIndex) -> tuple[Parties, list[Reach]]:
    """The persons taking part in a record, and what each of its addresses reaches
    (the sender's first)."""
    of = index.of
    reached = [of(record["sender"]), *map(of, record["recipients"])]
    parties: Parties = {}
    is_sender = True  # the first address is the sender's
    for persons, _platform in reached:
        for party in persons:
            entry = parties.get(party.person_id)
            if entry is None:
                parties[party.person_id] = [party.population, is_sender, party.owned]
            else:
                entry[1] = entry[1] or is_sender
                entry[2] = entry[2] and party.owned
        is_sender = False
    return parties, reached


def record_facts(
    record: Mapping[str, Any], inputs: World, index: FactsIndex | None = None,
    parties: tuple[Parties, list[Reach]] | None = None,
) -> list[FactRow]:
    """Facts rows of one record (keys are vocabulary field names), one per party person
    (``parties``: what ``record_parties`` found, when the caller has it already)."""
    index = index or FactsIndex(inputs, eager=False)
    found, reached = parties or record_parties(record, index)
    if not found:
        return []
    shared = record_level(record, index, found, reached)
    return [{**shared, **subject} for subject in subject_level(found, index)]


def subject_level(parties: Parties, index: FactsIndex) -> list[FactRow]:
    """The ``subject.*`` facts of each party person (with ``subject_id``), by person id."""
    family = index.family
    return [
        {
            "subject_id": person_id,
            "subject.population": population,
            "subject.is_sender": sender,
            "subject.account_district_owned": owned,
            "subject.family": population == "staff" and person_id in family
            and _kin(person_id, parties, family),
        }
        for person_id, (population, sender, owned) in sorted(parties.items())
    ]


def _kin(person_id: str, parties: Parties, family: dict[str, frozenset[str]]) -> bool:
    """Whether every other staff, student or parent party is this staff guardian's family."""
    relatives = family[person_id]
    others = [p for p, (population, _s, _o) in parties.items()
              if p != person_id and population in PARTY_POPULATIONS]
    return bool(others) and all(p in relatives for p in others)


def _local(moment: Any, index: FactsIndex) -> tuple[Any, int]:
    local = moment.astimezone(index.zone)
    return local.date(), local.hour


def record_level(
    record: Mapping[str, Any],
    index: FactsIndex,
    parties: Parties,
    reached: list[Reach],
) -> FactRow:
    """The facts every facts row of a record shares (``record.*``, ``platform.*``, the
    local date and the members). A record may carry its local ``(day, hour)`` already
    (``local``: the gateway reads the clock once a minute)."""
    inputs = index.inputs
    staff = students = parents = 0
    staff_owned = student_owned = True
    members = []
    for person_id, (population, _sender, owned) in parties.items():  # one pass, no generators
        if population == "staff":
            staff += 1
            staff_owned = staff_owned and owned
        elif population == "student":
            students += 1
            student_owned = student_owned and owned
        elif population == "parent":
            parents += 1
        else:
            continue
        members.append(person_id)
    members.sort()
    day, hour = record.get("local") or _local(record["occurred_at"], index)
    platform = record.get("platform") or named_platform(reached)
    channel = record["channel_type"]
    facts: FactRow = {
        "record.channel_type": channel,
        "record.platform": platform,
        "record.has_media": bool(record["has_media"]),
        "record.local_hour": hour,
        "record.local_weekday": day.isoweekday(),
        "record.recipient_count": len(record["recipients"]),
        "record.in_scope": staff >= 1 and len(members) >= 2,
        "record.several_staff": staff >= 2,
        "record.has_student": students > 0,
        "record.has_parent": parents > 0,
        "record.guardian_copied": guardian_copied(parties, index),
        "record.staff_accounts_district_owned": staff_owned,
        "record.student_accounts_district_owned": student_owned,
        "local_date": day,
        "members": members,
    }
    platform_row = inputs.platforms.get(platform) if platform else None
    if platform_row is None:  # most mail: nothing to check, no audiences to work out
        facts.update(approval.UNKNOWN_FACTS)
    else:
        facts.update(approval.checks(platform_row, channel, approval.audiences_of(facts), day))
    return facts


def named_platform(reached: list[Reach]) -> str | None:
    """The least platform any of a record's addresses names (a record without one)."""
    platform = None
    for _persons, named in reached:
        if named is not None and (platform is None or named < platform):
            platform = named
    return platform


def guardian_copied(parties: Parties, index: FactsIndex) -> bool:
    """Whether a guardian of a student party takes part."""
    guardians, ids = index.inputs.guardians, index.guardian_ids
    for guardian in parties:
        if ids is None or guardian in ids:
            for student in parties:
                if (guardian, student) in guardians:
                    return True
    return False
