"""Rules to SQL: a condition tree becomes a SQLGlot syntax tree, never a string.

Each vocabulary field is a column of the audit's facts relation, named by the
field with ``.`` replaced by ``_`` (``record.in_scope`` → ``record_in_scope``).
A comparison on a field that may be null is wrapped in ``COALESCE(…, FALSE)`` so
SQL's three-valued logic gives exactly the Python evaluator's answers.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from chaperone.policy.conditions import All, AnyOf, Compare, Condition, Not
from chaperone.policy.vocabulary import FIELDS


def column_name(field: str) -> str:
    """The facts column of a vocabulary field."""
    return field.replace(".", "_")


def compile_condition(condition: Condition) -> exp.Expr:
    """The SQL boolean expression of a condition tree."""
    if isinstance(condition, All):
        return exp.and_(*(exp.paren(compile_condition(c)) for c in condition.children))
    if isinstance(condition, AnyOf):
        return exp.or_(*(exp.paren(compile_condition(c)) for c in condition.children))
    if isinstance(condition, Not):
        return exp.not_(exp.paren(compile_condition(condition.child)))
    return _compare(condition)


def compile_subject(subject: str) -> exp.Expr:
    """Which facts rows are candidate subjects of a rule's findings."""
    if subject == "sender":
        return exp.column("subject_is_sender").eq(exp.true())
    return exp.column("subject_population").eq(exp.Literal.string("staff"))


def _literal(value: Any) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _compare(condition: Compare) -> exp.Expr:
    column = exp.column(column_name(condition.field))
    op, value = condition.op, condition.value
    simple: dict[str, type[exp.Binary]] = {
        "eq": exp.EQ,
        "ne": exp.NEQ,
        "lt": exp.LT,
        "lte": exp.LTE,
        "gt": exp.GT,
        "gte": exp.GTE,
    }
    if op in simple:
        result: exp.Expr = simple[op](this=column, expression=_literal(value))
    elif op in ("in", "not_in"):
        result = exp.In(this=column, expressions=[_literal(v) for v in value])
        if op == "not_in":
            result = exp.not_(exp.paren(result))
    elif op == "is_true":
        result = column.eq(exp.true())
    elif op == "is_false":
        result = column.eq(exp.false())
    elif op == "is_null":
        return exp.Is(this=column, expression=exp.Null())
    else:  # is_not_null
        return exp.not_(exp.Is(this=column, expression=exp.Null()))
    if FIELDS[condition.field].nullable:
        return exp.Coalesce(this=result, expressions=[exp.false()])
    return result
