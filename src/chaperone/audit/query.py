"""The audit query: every enabled rule of every pack version, judged over the facts at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlglot import exp

from chaperone.judge.conditions import column_name, to_sql
from chaperone.judge.facts_sql import FINDING_FIELDS, Backend, rows_query
from chaperone.judge.rules import RuleWindow, fields_read


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
    fields: set[str] | None = None,
) -> exp.Query:
    """Facts rows matching at least one rule, with one true/false column per rule.

    The rules filter narrow facts rows; only the rows they keep are joined to their
    record's wide columns (``rows_query``). The rows carry the facts fields that
    findings and their explanations read (``FINDING_FIELDS``), not every field.
    ``fields`` are the fields to compute (``judge.facts.fields_needed``; by default
    every field the rules read); work for an optional field left out is not done.
    """
    matches = [exp.and_(exp.paren(to_sql(w.condition)), _in_term(w)) for w in windows]
    needed = fields_read(windows) if fields is None else fields
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
