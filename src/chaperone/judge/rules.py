"""The rules in force: each enabled rule of each pack version, with the dates it governs.

A rule applies to a facts row when the row's local date lies in its version's term,
its subject condition holds (``policy.conditions.SUBJECTS``: the subject is staff, or
sent the record) and its condition holds. ``RuleWindow.condition`` is that whole
test as one condition tree, for SQL; ``RuleWindow.test`` is the same in Python.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaperone.judge.conditions import Predicate, to_python
from chaperone.policy.conditions import SUBJECTS, All, Condition, fields_of
from chaperone.policy.models import Pack, Rule


@dataclass(frozen=True)
class RuleWindow:
    """A rule of one pack version, applied to records dated within that version's term."""

    rule: Rule
    pack: Pack
    start: dt.date
    end: dt.date | None  # exclusive: the next version's effective date

    @functools.cached_property
    def column(self) -> str:
        """The match column of this rule in the audit query."""
        return "match_" + "".join(
            c if c.isalnum() else "_" for c in f"{self.pack.spec.version}_{self.rule.id}"
        )

    @functools.cached_property
    def condition(self) -> Condition:
        """The rule's subject and its condition, as one tree (the term is separate)."""
        return All((SUBJECTS[self.rule.spec.subject], self.rule.condition))

    @functools.cached_property
    def test(self) -> Predicate:
        """The rule over one facts row in Python: its term, then its subject and condition."""
        start, end = self.start, self.end
        condition = to_python(self.condition)

        def test(facts: Mapping[str, Any]) -> bool:
            day = facts["local_date"]
            return day >= start and (end is None or day < end) and condition(facts)

        return test


def rule_windows(packs: list[Pack], *, policy: str = "9052") -> list[RuleWindow]:
    """The enabled rules of each version of a policy, with the dates each version governs."""
    versions = sorted(
        (p for p in packs if p.spec.policy == policy), key=lambda p: p.spec.effective_on
    )
    windows = []
    for index, pack in enumerate(versions):
        end = versions[index + 1].spec.effective_on if index + 1 < len(versions) else None
        windows += [
            RuleWindow(rule, pack, pack.spec.effective_on, end) for rule in pack.enabled_rules
        ]
    return windows


def fields_read(windows: list[RuleWindow]) -> set[str]:
    """The vocabulary fields the rules read: their subjects and their conditions."""
    return set().union(set(), *(fields_of(w.condition) for w in windows))
