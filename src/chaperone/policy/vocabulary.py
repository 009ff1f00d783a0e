"""The closed vocabulary rules are written in: fields, operators, severities, subjects.

A rule is evaluated once per (record, subject person). ``record.*`` fields describe
the communication, ``platform.*`` the registry entry of the platform it used, and
``subject.*`` the person a finding would be about. The facts of both evaluators
(SQL for audits, Python for the gateway; ``chaperone.judge.facts``) have exactly
these names; the operators are ``chaperone.policy.operators``.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaperone.directory.populations import POPULATIONS
from chaperone.lake.schema import CHANNEL_TYPES
from chaperone.registry.models import PLATFORM_STATUSES


@dataclass(frozen=True)
class FieldSpec:
    """One field: its type, whether it may be null, its allowed values, and its meaning."""

    type: type
    meaning: str
    nullable: bool = False
    choices: tuple[str, ...] = ()


FIELDS: dict[str, FieldSpec] = {
    "record.channel_type": FieldSpec(str, "the §B channel type", choices=CHANNEL_TYPES),
    "record.platform": FieldSpec(str, "the platform id, null for a direct record", nullable=True),
    "record.has_media": FieldSpec(bool, "the record shares an image or other media"),
    "record.local_hour": FieldSpec(int, "hour of day (0-23) in the district's time zone"),
    "record.local_weekday": FieldSpec(int, "ISO weekday (1 = Monday) in the district's time zone"),
    "record.recipient_count": FieldSpec(int, "number of recipients"),
    "record.in_scope": FieldSpec(
        bool, "a staff party and another staff, student or parent party take part"
    ),
    "record.several_staff": FieldSpec(bool, "two or more staff take part"),
    "record.has_student": FieldSpec(bool, "a student takes part"),
    "record.has_parent": FieldSpec(bool, "a parent takes part"),
    "record.guardian_copied": FieldSpec(bool, "a guardian of a student party takes part"),
    "record.staff_accounts_district_owned": FieldSpec(
        bool, "every staff party used a district-owned account"
    ),
    "record.student_accounts_district_owned": FieldSpec(
        bool, "every student party used a district-owned account"
    ),
    "platform.status": FieldSpec(
        str,
        "the registry status; unknown when not in the registry",
        choices=(*PLATFORM_STATUSES, "unknown"),
    ),
    "platform.allows_channel": FieldSpec(bool, "the platform is approved for the channel type"),
    "platform.allows_audiences": FieldSpec(
        bool, "every in-scope pair of populations is among the platform's audiences"
    ),
    "platform.in_window": FieldSpec(
        bool, "the local date lies within approved_on..expires_on (inclusive)"
    ),
    "subject.population": FieldSpec(str, "the subject's population", choices=POPULATIONS),
    "subject.is_sender": FieldSpec(bool, "the subject sent the record"),
    "subject.account_district_owned": FieldSpec(
        bool, "the subject's own account in the record is district-owned"
    ),
    "subject.family": FieldSpec(
        bool, "the subject is staff and a guardian, and every other staff, student or parent "
        "party is their child or another guardian of their child"
    ),
}

COMBINATORS = ("all", "any", "not")
SEVERITIES = ("low", "medium", "high", "critical")
