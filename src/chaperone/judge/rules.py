"""The rules in force: each enabled rule of each pack version, with the dates it governs.

A rule applies to a facts row when the row's local date lies in its version's term,
its subject condition holds (``policy.conditions.SUBJECTS``: the subject is staff, or
sent the record), its condition holds, and no exempting rule of its version (``effect:
exempt``, such as 9052's family rule) holds for that row. ``RuleWindow.condition`` is
that whole test as one condition tree, for SQL; ``RuleWindow.test`` is the same in
Python. Exempting rules find nothing themselves: they are part of the others' trees.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaperone.judge.conditions import Predicate, to_python
from chaperone.policy.conditions import SUBJECTS, All, AnyOf, Condition, Not, fields_of
from chaperone.policy.models import Pack, Rule


@dataclass(frozen=True)
class RuleWindow:
    """A rule of one pack version, applied to records dated within that version's term."""

    rule: Rule
    pack: Pack
    start: dt.date
    end: dt.date | None  # exclusive: the next version's effective date
    exemptions: tuple[Rule, ...] = ()  # the version's enabled rules with effect: exempt

    @functools.cached_property
    def column(self) -> str:
        """The match column of this rule in the audit query."""
        return "match_" + "".join(
            c if c.isalnum() else "_" for c in f"{self.pack.spec.version}_{self.rule.id}"
        )

    @functools.cached_property
    def condition(self) -> Condition:
        """The rule's subject, its condition and its version's exemptions, as one tree
        (the term is separate)."""
        parts: list[Condition] = [SUBJECTS[self.rule.spec.subject], self.rule.condition]
        if self.exemptions:
            parts.append(Not(AnyOf(tuple(_whole(rule) for rule in self.exemptions))))
        return All(tuple(parts))

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
        exempt = tuple(r for r in pack.enabled_rules if r.spec.effect == "exempt")
        windows += [
            RuleWindow(rule, pack, pack.spec.effective_on, end, exempt)
            for rule in pack.enabled_rules if rule.spec.effect == "finding"
        ]
    return windows


def _whole(rule: Rule) -> Condition:
    """A rule's subject and condition as one tree."""
    return All((SUBJECTS[rule.spec.subject], rule.condition))


def fields_read(windows: list[RuleWindow]) -> set[str]:
    """The vocabulary fields the rules read: their subjects and their conditions."""
    return set().union(set(), *(fields_of(w.condition) for w in windows))
