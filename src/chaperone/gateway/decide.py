"""Decisions from the policy: the audit's rules, per message, in memory, no database trip."""

from __future__ import annotations

import datetime as dt
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaperone.common.addresses import normalize_email
from chaperone.gateway.protocol import DUNNO, PolicyRequest
from chaperone.judge import approval
from chaperone.judge.facts import (
    FactRow,
    FactsIndex,
    record_level,
    record_parties,
    subject_level,
)
from chaperone.judge.rules import RuleWindow, fields_read
from chaperone.judge.world import World

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

    A decision depends on a communication only through the facts the rules read (their
    conditions, subjects and terms: ``fields_read``) and the facts the answer's text
    reads (the approval function's inputs, ``approval.READS``). Every communication
    whose facts rows agree on those fields — its *kind* — gets one decision, so a
    Decider remembers the decision of each kind it has judged (there are few: a
    directory of thousands has a few dozen kinds a day). The kind is computed from the
    facts rows themselves, never from a list kept by hand, so a field a rule starts to
    read is part of the kind at once. Parties an exception names are judged every
    time: their decisions depend on who they are.
    """

    inputs: World
    windows: list[RuleWindow]
    actions: dict[str, str]
    monitor: bool = False
    version: tuple[object, ...] = ()  # of the store it was loaded from (inputs.version)
    _instances: dict[str, list[str]] = field(default_factory=dict)  # in order of start
    index: FactsIndex = field(init=False, repr=False)
    _rules: list[tuple[RuleWindow, str]] = field(init=False, repr=False)
    _kinds: dict[tuple[Any, ...], Decision] = field(init=False, repr=False)
    _record_kind: Callable[[FactRow], tuple[Any, ...]] = field(init=False, repr=False)
    _subject_kind: Callable[[FactRow], tuple[Any, ...]] = field(init=False, repr=False)
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
        read = fields_read([window for window, _action in self._rules]) | {
            *approval.READS, "local_date"}
        self._record_kind = _values_of(sorted(f for f in read if not f.startswith("subject.")))
        self._subject_kind = _values_of(sorted(f for f in read if f.startswith("subject.")))

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
        parties, reached = record_parties(record, self.index)
        if not parties:
            return NO_OPINION
        shared = record_level(record, self.index, parties, reached)
        subjects = subject_level(parties, self.index)
        if not self._excepted_people.isdisjoint(parties):
            return self.judge_facts([{**shared, **subject} for subject in subjects])
        kind = self.kind(shared, subjects)
        decision = self._kinds.get(kind)
        if decision is None:
            decision = self.judge_facts([{**shared, **subject} for subject in subjects])
            if len(self._kinds) >= MAX_KINDS:
                self._kinds.clear()
            self._kinds[kind] = decision
        return decision

    def kind(self, shared: FactRow, subjects: list[FactRow]) -> tuple[Any, ...]:
        """What the rules and the answer's text read of a record's facts: its shared
        fields once, and each party's subject fields (as a sorted multiset: who is who
        is not read)."""
        return (
            self._record_kind(shared),
            tuple(sorted(map(self._subject_kind, subjects))),
        )

    def judge_facts(self, rows: list[FactRow]) -> Decision:
        """The strongest action a rule calls for on any party (the pack's first rule among
        equals) that no exception permits; in monitor mode, DUNNO saying what it would do."""
        best = NO_OPINION
        for window, action in self._rules:
            test = window.test
            for facts in rows:
                if test(facts) and not self._excepted(window, facts):
                    best = Decision(action, window.rule.id, self._text(window, facts))
                    break
            if best is not NO_OPINION:
                break
        if self.monitor and best.action != DUNNO:
            return Decision(DUNNO, best.rule_id, f"monitor: would {best.action}: {best.reason}",
                            intended=best.action)
        return best

    def _excepted(self, window: RuleWindow, facts: FactRow) -> bool:
        counterparts = [m for m in facts["members"] if m != facts["subject_id"]]
        return self.inputs.excepted(window.rule.id, facts["subject_id"], counterparts,
                                    facts["record.channel_type"], facts["local_date"])

    def _text(self, window: RuleWindow, facts: FactRow) -> str:
        """``Policy 9052 §A: <rule>; use your example.k12.ny.us address or ParentSquare``
        (an approved platform for exactly this communication, by the approval function)."""
        domain = self.inputs.district_domains[0] if self.inputs.district_domains else "district"
        platform = approval.alternative(
            self.inputs.platforms.values(), facts["record.channel_type"],
            approval.audiences_of(facts), facts["local_date"])
        instead = f"your {domain} address" + (f" or {platform.name}" if platform else "")
        return f"Policy {window.rule.spec.citation}: {window.rule.spec.title}; use {instead}"


def _values_of(fields: list[str]) -> Callable[[FactRow], tuple[Any, ...]]:
    """The values of these fields of a facts row, as a tuple (whatever their number)."""
    if not fields:
        return lambda _row: ()
    get = operator.itemgetter(*fields)
    if len(fields) == 1:
        return lambda row: (get(row),)
    return get  # itemgetter of several keys gives a tuple


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
