"""The audit query: every enabled rule of every pack version, judged over the facts at once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlglot import exp

from chaperone.audit.facts import Backend, facts_query
from chaperone.policy.compiler import compile_condition, compile_subject
from chaperone.policy.conditions import fields_of
from chaperone.policy.models import Pack, Rule


@dataclass(frozen=True)
class RuleWindow:
    """A rule of one pack version, applied to records dated within that version's term."""

    rule: Rule
    pack: Pack
    start: dt.date
    end: dt.date | None  # exclusive: the next version's effective date

    @property
    def column(self) -> str:
        """The match column of this rule in the audit query."""
        return "match_" + "".join(
            c if c.isalnum() else "_" for c in f"{self.pack.spec.version}_{self.rule.id}"
        )


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


def _date(value: dt.date) -> exp.Expr:
    return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("date"))


def _in_term(window: RuleWindow) -> exp.Expr:
    local = exp.column("local_date")
    term: exp.Expr = local >= _date(window.start)
    if window.end is not None:
        term = exp.and_(term, local < _date(window.end))
    return term


def audit_query(
    backend: Backend,
    timezone: str,
    windows: list[RuleWindow],
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> exp.Select:
    """Facts rows matching at least one rule, with one true/false column per rule."""
    matches = [
        exp.and_(
            compile_subject(w.rule.spec.subject),
            exp.paren(compile_condition(w.rule.condition)),
            _in_term(w),
        )
        for w in windows
    ]
    needed = set().union(*(fields_of(w.rule.condition) for w in windows)) if windows else set()
    facts = facts_query(backend, timezone, needed).subquery("facts")
    select = exp.select(
        "*", *(exp.alias_(exp.paren(m), w.column) for m, w in zip(matches, windows, strict=True))
    ).from_(facts)
    where: exp.Expr = exp.or_(*(exp.paren(m) for m in matches)) if matches else exp.false()
    if since is not None:
        where = exp.and_(exp.paren(where), exp.column("local_date") >= _date(since))
    if until is not None:
        where = exp.and_(exp.paren(where), exp.column("local_date") <= _date(until))
    return select.where(where)
