"""The audit query: every enabled rule of every pack version, judged over the facts at once."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from chaperone.audit.facts import FINDING_FIELDS, Backend, rows_query
from chaperone.policy.compiler import column_name, compile_condition, compile_subject
from chaperone.policy.conditions import fields_of
from chaperone.policy.evaluator import Predicate, candidate_of, predicate_of
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
    def test(self) -> Predicate:
        """The rule over one facts row in Python: its term, its subject, then its condition."""
        start, end = self.start, self.end
        candidate = candidate_of(self.rule.spec.subject)
        condition = predicate_of(self.rule.condition)

        def test(facts: Mapping[str, Any]) -> bool:
            day = facts["local_date"]
            return (day >= start and (end is None or day < end) and candidate(facts)
                    and condition(facts))

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
    """The vocabulary fields the rules read: their conditions and their subjects."""
    fields = set().union(*(fields_of(w.rule.condition) for w in windows))
    senders = any(w.rule.spec.subject == "sender" for w in windows)
    return fields | {"subject.population", *(["subject.is_sender"] if senders else [])}


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
) -> exp.Query:
    """Facts rows matching at least one rule, with one true/false column per rule.

    The rules filter narrow facts rows; only the rows they keep are joined to their
    record's wide columns (``rows_query``). The rows carry the facts fields that
    findings and their explanations read (``FINDING_FIELDS``), not every field.
    """
    matches = [
        exp.and_(
            compile_subject(w.rule.spec.subject),
            exp.paren(compile_condition(w.rule.condition)),
            _in_term(w),
        )
        for w in windows
    ]
    needed = fields_read(windows)
    where = _factored(matches)
    if since is not None:
        where = exp.and_(exp.paren(where), exp.column("local_date") >= _date(since))
    if until is not None:
        where = exp.and_(exp.paren(where), exp.column("local_date") <= _date(until))
    columns = ["record_key", "subject_key", "local_date", *map(column_name, FINDING_FIELDS)]
    hits = exp.select(
        *columns,
        *(exp.alias_(exp.paren(m), w.column) for m, w in zip(matches, windows, strict=True)),
    ).from_("facts")
    return rows_query(backend, timezone, hits.where(where), needed)


def _factored(matches: Sequence[exp.Expr]) -> exp.Expr:
    """Any of the matches, with the terms every match requires also stated on their own.

    ``(a AND b) OR (a AND c)`` as ``a AND ((a AND b) OR (a AND c))``: the same rows,
    but the engine sees that ``a`` (the subject's population, ``record.in_scope``)
    holds for every row it keeps and can filter by it before the joins.
    """
    if not matches:
        return exp.false()
    terms = [_terms(m) for m in matches]
    keys = [{t.sql() for t in ts} for ts in terms]
    common = [t for t in terms[0] if all(t.sql() in k for k in keys[1:])]
    anyof = exp.or_(*(exp.paren(m) for m in matches))
    return exp.and_(*(t.copy() for t in common), exp.paren(anyof)) if common else anyof


def _terms(node: exp.Expr) -> list[exp.Expr]:
    """The operands of a conjunction (parentheses looked through), or the node itself."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _terms(node.left) + _terms(node.right)
    return [node]
