"""Every finding explains itself in a sentence a principal can read aloud."""

from __future__ import annotations

import functools
import re
from typing import Any

from chaperone.audit.inputs import AuditInputs, PersonInfo
from chaperone.audit.query import RuleWindow
from chaperone.registry.models import Platform

VERBS = {
    "email": "emailed",
    "text_message": "texted",
    "voicemail": "left a voicemail for",
    "image_sharing": "shared images with",
    "chat": "messaged",
    "call": "called",
    "social_post": "posted to",
    "social_message": "messaged",
}
NOUNS = {
    "student": ("a student", "students"),
    "parent": ("a parent", "parents"),
    "staff": ("a colleague", "colleagues"),
}
STATUS = {
    "denied": "which the district has denied",
    "pending": "which is still pending approval",
    "retired": "which the district has retired",
}


def describe(person: PersonInfo | None, person_id: str) -> str:
    """``Dana Ito (teacher, Hillcrest High School)``."""
    if person is None:
        return person_id
    place = person.schools[0] if person.schools else "district"
    return f"{person.name} ({_role(person.role)}, {place})"


@functools.lru_cache(maxsize=256)
def _role(role: str) -> str:
    """``guidanceCounselor`` → ``guidance counselor`` (a district has a few roles)."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", role).lower()


def _counterparts(inputs: AuditInputs, ids: list[str]) -> str:
    counts: dict[str, int] = {}
    for person_id in ids:
        person = inputs.people.get(person_id)
        if person is not None:
            counts[person.population] = counts.get(person.population, 0) + 1
    parts = [
        NOUNS[pop][0] if n == 1 else f"{n} {NOUNS[pop][1]}"
        for pop, n in sorted(counts.items())
        if pop in NOUNS
    ]
    return " and ".join(parts) or "someone"


def _account(row: dict[str, Any]) -> str:
    return "number" if str(row["sender"]).startswith("+") else "address"


def alternative_platform(inputs: AuditInputs, row: dict[str, Any]) -> Platform | None:
    """An approved platform the district would have the subject use instead, if any."""
    flags = (("student", row["record_has_student"]), ("parent", row["record_has_parent"]))
    pairs = {f"staff-{population}" for population, flag in flags if flag}
    day = row["local_date"]
    for platform in sorted(inputs.platforms.values(), key=lambda p: p.name):
        if (
            platform.status == "approved"
            and row["record_channel_type"] in platform.channel_types
            and pairs <= set(platform.audiences)
            and (platform.approved_on is None or platform.approved_on <= day)
            and (platform.expires_on is None or day <= platform.expires_on)
        ):
            return platform
    return None


def alternative(inputs: AuditInputs, row: dict[str, Any]) -> str:
    """What §A asks for instead, naming an approved platform when there is one."""
    platform = alternative_platform(inputs, row)
    if platform is None:
        return "district accounts or a district-approved platform"
    return f"district accounts or an approved platform such as {platform.name}"


def _platform_reason(inputs: AuditInputs, row: dict[str, Any]) -> str:
    platform_id = row["record_platform"]
    platform = inputs.platforms.get(platform_id)
    if platform is None:
        return f"on {platform_id}, which is not in the district's registry"
    if platform.status != "approved":
        return f"on {platform.name}, {STATUS[platform.status]}"
    if not row["platform_allows_channel"]:
        return f"on {platform.name}, which is not approved for {row['record_channel_type']}"
    if not row["platform_allows_audiences"]:
        return f"on {platform.name}, which is approved only for {', '.join(platform.audiences)}"
    if platform.expires_on is not None and row["local_date"] > platform.expires_on:
        return f"on {platform.name}, whose approval expired on {platform.expires_on}"
    return f"on {platform.name}, before its approval on {platform.approved_on}"


def explain(
    window: RuleWindow, row: dict[str, Any], inputs: AuditInputs, counterparts: list[str]
) -> str:
    """The sentence for one finding."""
    subject = describe(inputs.people.get(row["subject_id"]), row["subject_id"])
    verb = VERBS.get(row["record_channel_type"], "contacted")
    others = _counterparts(inputs, counterparts)
    section = "§" + window.rule.section
    if window.rule.id.endswith("-platform"):
        reason = _platform_reason(inputs, row)
        return f"{subject} {verb} {others} {reason}; {section} requires {alternative(inputs, row)}."
    if window.rule.id.endswith("-direct"):
        return (
            f"{subject} {verb} {others}{_direct_detail(row)}; {section} requires "
            f"{alternative(inputs, row)}."
        )
    return f"{subject} {window.rule.spec.explanation.strip()}"


def _direct_detail(row: dict[str, Any]) -> str:
    noun = _account(row)
    own = (
        ""
        if row["subject_account_district_owned"]
        else (f" from a personal {noun}" if row["subject_is_sender"] else f" at a personal {noun}")
    )
    student = (
        ""
        if row["record_student_accounts_district_owned"]
        else f" using a student's personal {noun}"
    )
    return student + own
