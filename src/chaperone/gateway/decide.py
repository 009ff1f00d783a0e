"""Decisions from the policy: the audit's rules, per message, in memory, no database trip."""

from __future__ import annotations

import datetime as dt
import functools
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from chaperone.audit.explain import alternative_platform
from chaperone.audit.facts import FactRow, FactsIndex, record_facts
from chaperone.audit.inputs import AuditInputs
from chaperone.audit.query import RuleWindow
from chaperone.directory.normalize import normalize_email
from chaperone.gateway.protocol import DUNNO, PolicyRequest
from chaperone.policy.compiler import column_name

ACTIONS = ("REJECT", "HOLD", "PREPEND", "WARN", "DUNNO")
SEVERITY = {"REJECT": 4, "HOLD": 3, "PREPEND": 2, "WARN": 1, "DUNNO": 0}
MAX_INSTANCES = 10_000


@dataclass(frozen=True)
class Decision:
    """What the gateway answers, and why."""

    action: str
    rule_id: str | None = None
    reason: str = ""
    intended: str | None = None  # monitor mode: what enforcing would have answered


NO_OPINION = Decision(DUNNO)


MAX_ADDRESS = 320  # longer is no address (RFC 3696); not worth remembering


def address(raw: str) -> str:
    """An address as Postfix sent it, normalised (a district's addresses recur: memoised)."""
    return _remembered(raw) if len(raw) <= MAX_ADDRESS else normalize_email(raw)


_remembered = functools.lru_cache(maxsize=16_384)(normalize_email)


@dataclass
class Decider:
    """Judges one request with the rules, the directory and the registry held in memory.

    A Decider is a snapshot: what it looks up per address (``FactsIndex``) and the
    rules compiled to Python are built with it, and a reload builds a new one.
    """

    inputs: AuditInputs
    windows: list[RuleWindow]
    actions: dict[str, str]
    monitor: bool = False
    _instances: OrderedDict[str, list[str]] = field(default_factory=OrderedDict)
    index: FactsIndex = field(init=False, repr=False)
    _rules: list[tuple[RuleWindow, str, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = FactsIndex(self.inputs)
        self._rules = []
        for window in self.windows:
            action = self.actions.get(window.rule.id, "REJECT")
            window.test  # noqa: B018 -- compiled now, not on the first request
            self._rules.append((window, action, SEVERITY[action]))

    def decide(self, request: PolicyRequest, now: dt.datetime | None = None) -> Decision:
        """The decision for a RCPT (sender and recipient) or END-OF-MESSAGE (all recipients)."""
        recipients = self._recipients(request)
        if not request.sender or not recipients:
            return NO_OPINION
        return self.decide_record(address(request.sender), recipients, now=now)

    def decide_record(self, sender: str, recipients: list[str], *, channel_type: str = "email",
                      platform: str | None = None, now: dt.datetime | None = None) -> Decision:
        """The decision for one communication given normalised addresses."""
        record: dict[str, Any] = {
            "sender": sender, "recipients": recipients, "channel_type": channel_type,
            "platform": platform, "has_media": channel_type == "image_sharing",
            "occurred_at": now or dt.datetime.now(dt.UTC),
        }
        return self._judge(record)

    def _recipients(self, request: PolicyRequest) -> list[str]:
        recipient = address(request.recipient) if request.recipient else ""
        if request.state == "RCPT":
            if request.instance and recipient:
                seen = self._instances.setdefault(request.instance, [])
                seen.append(recipient)
                self._instances.move_to_end(request.instance)
                while len(self._instances) > MAX_INSTANCES:
                    self._instances.popitem(last=False)
            return [recipient] if recipient else []
        if request.state in ("END-OF-MESSAGE", "DATA"):
            return self._instances.pop(request.instance, [recipient] if recipient else [])
        return [recipient] if recipient else []

    def _judge(self, record: dict[str, Any]) -> Decision:
        best, strongest = NO_OPINION, 0
        for facts in record_facts(record, self.inputs, self.index):
            for window, action, severity in self._rules:
                if severity > strongest and window.test(facts):
                    row = _columns(facts)
                    if not self._excepted(window, row):
                        best = Decision(action, window.rule.id, self._text(window, row))
                        strongest = severity
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
