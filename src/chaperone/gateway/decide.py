"""Decisions from the policy: the audit's rules, per message, in memory, no database trip."""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass, field
from typing import Any

from chaperone.audit.explain import alternative_platform
from chaperone.audit.facts import (
    FactRow,
    FactsIndex,
    Parties,
    Reach,
    guardian_copied,
    named_platform,
    record_facts,
    record_parties,
)
from chaperone.audit.inputs import AuditInputs
from chaperone.audit.query import RuleWindow
from chaperone.directory.normalize import normalize_email
from chaperone.gateway.protocol import DUNNO, PolicyRequest
from chaperone.policy.compiler import column_name

ACTIONS = ("REJECT", "HOLD", "PREPEND", "WARN", "DUNNO")
SEVERITY = {"REJECT": 4, "HOLD": 3, "PREPEND": 2, "WARN": 1, "DUNNO": 0}
MAX_INSTANCES = 10_000
MAX_KINDS = 4_096  # kinds of communication remembered with their decision (per snapshot)


@dataclass(frozen=True)
class Decision:
    """What the gateway answers, and why."""

    action: str
    rule_id: str | None = None
    reason: str = ""
    intended: str | None = None  # monitor mode: what enforcing would have answered


NO_OPINION = Decision(DUNNO)


MAX_ADDRESS = 320  # longer is no address (RFC 3696); not worth remembering


MAX_REMEMBERED = 16_384  # addresses remembered normalised; forgotten all at once when full
_remembered: dict[str, str] = {}


def address(raw: str) -> str:
    """An address as Postfix sent it, normalised (a district's addresses recur: memoised)."""
    found = _remembered.get(raw)
    if found is None:
        found = normalize_email(raw)
        if len(raw) <= MAX_ADDRESS:
            if len(_remembered) >= MAX_REMEMBERED:
                _remembered.clear()
            _remembered[raw] = found
    return found


@dataclass
class Decider:
    """Judges one request with the rules, the directory and the registry held in memory.

    A Decider is a snapshot: what it looks up per address (``FactsIndex``) and the
    rules compiled to Python are built with it, and a reload builds a new one.

    Rules see a person only through the facts of its kind (population, sender or not,
    district account or not), so every communication of one *kind* — the same kinds of
    parties, channel, platform, local day and hour, recipient count, and whether a
    guardian of a student party takes part — gets one decision. A Decider remembers
    the decision of each kind it has judged (there are few: a directory of thousands
    has a few dozen kinds a day), except for the parties an exception names, whose
    decisions depend on who they are.
    """

    inputs: AuditInputs
    windows: list[RuleWindow]
    actions: dict[str, str]
    monitor: bool = False
    version: tuple[object, ...] = ()  # of the store it was loaded from (inputs.version)
    _instances: dict[str, list[str]] = field(default_factory=dict)  # in order of start
    index: FactsIndex = field(init=False, repr=False)
    _rules: list[tuple[RuleWindow, str]] = field(init=False, repr=False)
    _kinds: dict[tuple[Any, ...], Decision] = field(init=False, repr=False)
    _excepted_people: frozenset[str] = field(init=False, repr=False)
    _clock: tuple[int, dt.datetime, tuple[dt.date, int]] = field(
        init=False, repr=False, default=(-1, dt.datetime.min, (dt.date.min, 0)))

    def __post_init__(self) -> None:
        self.index = FactsIndex(self.inputs)
        self._kinds = {}
        self._excepted_people = frozenset(g.person_id for g in self.inputs.exceptions)
        rules = []
        for window in self.windows:
            action = self.actions.get(window.rule.id, "REJECT")
            window.test  # noqa: B018 -- compiled now, not on the first request
            if action != DUNNO:
                rules.append((window, action))
        # The strongest action first; among equals, the pack's order (a stable sort).
        self._rules = sorted(rules, key=lambda rule: -SEVERITY[rule[1]])

    def decide(self, request: PolicyRequest, now: dt.datetime | None = None) -> Decision:
        """The decision for a RCPT (sender and recipient) or END-OF-MESSAGE (all recipients)."""
        recipients = self._recipients(request)
        if not request.sender or not recipients:
            return NO_OPINION
        return self.decide_record(address(request.sender), recipients, now=now)

    def decide_record(self, sender: str, recipients: list[str], *, channel_type: str = "email",
                      platform: str | None = None, now: dt.datetime | None = None) -> Decision:
        """The decision for one communication given normalised addresses."""
        if now is None:
            now, local = self._now()
        else:
            moment = now.astimezone(self.index.zone)
            local = (moment.date(), moment.hour)
        record: dict[str, Any] = {
            "sender": sender, "recipients": recipients, "channel_type": channel_type,
            "platform": platform, "has_media": channel_type == "image_sharing",
            "occurred_at": now, "local": local,
        }
        return self._judge(record)

    def _now(self) -> tuple[dt.datetime, tuple[dt.date, int]]:
        """The time and local (day, hour) of a request being answered, read once a minute:
        every request of a minute has that minute's hour and day, which is all a rule
        reads of the time."""
        minute = int(time.time()) // 60
        clock = self._clock
        if clock[0] != minute:
            now = dt.datetime.now(dt.UTC)
            moment = now.astimezone(self.index.zone)
            clock = self._clock = (int(now.timestamp()) // 60, now, (moment.date(), moment.hour))
        return clock[1], clock[2]

    def _recipients(self, request: PolicyRequest) -> list[str]:
        recipient = address(request.recipient) if request.recipient else ""
        if request.state == "RCPT":
            if request.instance and recipient:
                instances = self._instances
                seen = instances.get(request.instance)
                if seen is None:  # a new transaction; past the limit the oldest is forgotten
                    if len(instances) >= MAX_INSTANCES:
                        del instances[next(iter(instances))]
                    instances[request.instance] = seen = []
                seen.append(recipient)
            return [recipient] if recipient else []
        if request.state in ("END-OF-MESSAGE", "DATA"):
            return self._instances.pop(request.instance, [recipient] if recipient else [])
        return [recipient] if recipient else []

    def _judge(self, record: dict[str, Any]) -> Decision:
        """The decision of the record's kind, judged once per kind."""
        parties, reached = found = record_parties(record, self.index)
        if not parties:
            return NO_OPINION
        if not self._excepted_people.isdisjoint(parties):
            return self.judge_facts(record_facts(record, self.inputs, self.index, found))
        kind = self._kind(record, parties, reached)
        decision = self._kinds.get(kind)
        if decision is None:
            decision = self.judge_facts(record_facts(record, self.inputs, self.index, found))
            if len(self._kinds) >= MAX_KINDS:
                self._kinds.clear()
            self._kinds[kind] = decision
        return decision

    def _kind(self, record: dict[str, Any], parties: Parties,
              reached: list[Reach]) -> tuple[Any, ...]:
        """Everything a rule, an exception-free party and the answer's text can see."""
        day, hour = record["local"]
        return (
            record["channel_type"], record.get("platform") or named_platform(reached),
            record["has_media"], day, hour, len(record["recipients"]),
            guardian_copied(parties, self.index),
            tuple(sorted(map(tuple, parties.values()))),
        )

    def judge_facts(self, rows: list[FactRow]) -> Decision:
        """The strongest action a rule calls for on any party (the pack's first rule among
        equals) that no exception permits; in monitor mode, DUNNO saying what it would do."""
        best = NO_OPINION
        for window, action in self._rules:
            test = window.test
            for facts in rows:
                if test(facts):
                    row = _columns(facts)
                    if not self._excepted(window, row):
                        best = Decision(action, window.rule.id, self._text(window, row))
                        break
            if best is not NO_OPINION:
                break
        if self.monitor and best.action != DUNNO:
            return Decision(DUNNO, best.rule_id, f"monitor: would {best.action}: {best.reason}",
                            intended=best.action)
        return best

    def _excepted(self, window: RuleWindow, row: dict[str, Any]) -> bool:
        counterparts = [m for m in row["members"] if m != row["subject_id"]]
        return self.inputs.excepted(window.rule.id, row["subject_id"], counterparts,
                                    row["record_channel_type"], row["local_date"])

    def _text(self, window: RuleWindow, row: dict[str, Any]) -> str:
        """``Policy 9052 §A: <rule>; use your example.k12.ny.us address or ParentSquare``."""
        domain = self.inputs.district_domains[0] if self.inputs.district_domains else "district"
        platform = alternative_platform(self.inputs, row)
        instead = f"your {domain} address" + (f" or {platform.name}" if platform else "")
        return f"Policy {window.rule.spec.citation}: {window.rule.spec.title}; use {instead}"


def _columns(facts: FactRow) -> dict[str, Any]:
    """A facts row keyed by facts columns, as the audit's rows are (explanations read those)."""
    return {_column(k): v for k, v in facts.items()}


@functools.cache
def _column(field: str) -> str:
    return column_name(field)


def postfix_action(decision: Decision) -> str:
    """The Postfix access(5) action for a decision."""
    if decision.action == "REJECT":
        return f"550 5.7.1 {decision.reason}"
    if decision.action == "HOLD":
        return f"HOLD {decision.reason}"
    if decision.action == "PREPEND":
        return f"PREPEND X-Chaperone-Policy: {decision.reason}"
    if decision.action == "WARN":
        return f"WARN {decision.reason}"
    return DUNNO
