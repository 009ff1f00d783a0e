"""A verdict: what a rule found, as data — never a name, an address or a sentence.

A finding stores its verdict; its sentence is rendered when it is read, for whoever
reads it (``judge.render``). The verdict says which rule (and pack version) found it,
which branch of §A the communication took (on a ``platform``, or ``direct`` between
accounts), which approval check failed (``judge.approval``), who the subject and the
counterparts are (district person ids with their populations), what kinds of
accounts they used, and the approved platform the district would have them use.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from chaperone.judge import approval
from chaperone.judge.rules import RuleWindow
from chaperone.judge.world import World

FORMAT = 1  # the stored verdict's format; a migration moves older findings to it


@dataclass(frozen=True)
class Verdict:
    """One finding's judgement (see the module docstring)."""

    rule_id: str
    policy_version: str
    branch: str  # "platform" or "direct"
    channel_type: str
    platform: str | None
    subject: str
    subject_population: str
    subject_is_sender: bool
    subject_account: str  # "district" or "personal"
    counterparts: tuple[tuple[str, str], ...]  # (person id, population)
    student_accounts: str  # "district" or "personal": every student party's account
    account_kind: str  # "phone" or "email": the kind of the sender's account
    failed: str | None = None  # the approval check that failed (platform branch)
    failed_detail: str | None = None
    failed_on: dt.date | None = None  # the window's date that failed (expired, approved on)
    alternative: str | None = None  # an approved platform id for exactly this communication
    stopped: str | None = None  # REJECT or HOLD when the mail gateway stopped it
    complete: bool = True  # False: converted from an older finding, until it is re-audited

    def to_json(self) -> str:
        """The verdict as stored (compact JSON, keys sorted)."""
        data = asdict(self)
        data["format"] = FORMAT
        data["counterparts"] = [list(c) for c in self.counterparts]
        data["failed_on"] = self.failed_on.isoformat() if self.failed_on else None
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Verdict:
        """A stored verdict."""
        data = json.loads(text)
        data.pop("format", None)
        data["counterparts"] = tuple(tuple(c) for c in data.get("counterparts", ()))
        if data.get("failed_on"):
            data["failed_on"] = dt.date.fromisoformat(data["failed_on"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def stopped_by(self, action: str) -> Verdict:
        """The verdict of mail the gateway stopped with this action."""
        return replace(self, stopped=action)


def _account(owned: object) -> str:
    return "district" if owned else "personal"


def build(window: RuleWindow, row: Mapping[str, Any], world: World) -> Verdict:
    """The verdict of a rule that matched an audit row (columns as the audit query names)."""
    subject = row["subject_id"]
    channel, platform_id, day = row["record_channel_type"], row["record_platform"], \
        row["local_date"]
    audiences = approval.audiences_of(row, columns=True)
    found = approval.APPROVED
    if platform_id is not None:
        found = approval.approve(world.platforms.get(platform_id), channel, audiences, day)
    failed_on = None
    if found.failed == "window":
        platform = world.platforms[platform_id]
        failed_on = platform.expires_on if found.detail == "expired" else platform.approved_on
    instead = approval.alternative(world.platforms.values(), channel, audiences, day)
    people = world.people
    return Verdict(
        rule_id=window.rule.id,
        policy_version=window.pack.spec.version,
        branch="direct" if platform_id is None else "platform",
        channel_type=channel,
        platform=platform_id,
        subject=subject,
        subject_population=row["subject_population"],
        subject_is_sender=bool(row["subject_is_sender"]),
        subject_account=_account(row["subject_account_district_owned"]),
        counterparts=tuple(
            (person, people[person].population if person in people else "unknown")
            for person in row["members"] if person != subject
        ),
        student_accounts=_account(row["record_student_accounts_district_owned"]),
        account_kind="phone" if str(row["sender"]).startswith("+") else "email",
        failed=found.failed,
        failed_detail=found.detail,
        failed_on=failed_on,
        alternative=instead.id if instead else None,
    )
