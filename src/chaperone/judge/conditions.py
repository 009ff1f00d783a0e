"""A condition tree as SQL (the batch audit) and as a Python predicate (per record).

Both read the one operator table (``chaperone.policy.operators``); they differ only in
how a tree is walked. Each vocabulary field is a column of the facts relation, named
by the field with ``.`` replaced by ``_`` (``record.in_scope`` → ``record_in_scope``);
in Python, facts are a mapping from field names to values. A comparison with a null
value is false on both paths: SQL wraps a nullable field's comparison in
``COALESCE(…, FALSE)``, Python tests for None before it compares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlglot import exp

from chaperone.policy.conditions import All, AnyOf, Compare, Condition, Not
from chaperone.policy.operators import OPERATORS
from chaperone.policy.vocabulary import FIELDS

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]


def column_name(field: str) -> str:
    """The facts column of a vocabulary field."""
    return field.replace(".", "_")


def to_sql(condition: Condition) -> exp.Expr:
    """The SQL boolean expression of a condition tree."""
    if isinstance(condition, All | AnyOf) and not condition.children:
        return exp.Boolean(this=isinstance(condition, All))  # as all() and any() of nothing
    if isinstance(condition, All):
        return exp.and_(*(exp.paren(to_sql(c)) for c in condition.children))
    if isinstance(condition, AnyOf):
        return exp.or_(*(exp.paren(to_sql(c)) for c in condition.children))
    if isinstance(condition, Not):
        return exp.not_(exp.paren(to_sql(condition.child)))
    operator = OPERATORS[condition.op]
    result = operator.sql(exp.column(column_name(condition.field)), condition.value)
    if FIELDS[condition.field].nullable and not operator.null_test:
        return exp.Coalesce(this=result, expressions=[exp.false()])
    return result


def to_python(condition: Condition) -> Predicate:
    """The condition as one function of the facts (nested closures, no tree walk per row)."""
    if isinstance(condition, All | AnyOf):
        children = tuple(to_python(c) for c in condition.children)
        return _chain(children, every=isinstance(condition, All))
    if isinstance(condition, Not):
        child = to_python(condition.child)
        return lambda facts: not child(facts)
    return _compare(condition)


def _chain(children: tuple[Predicate, ...], every: bool) -> Predicate:
    """``and`` (``every``) or ``or`` of the children, left to right, as nested closures."""
    if not children:  # as all() and any() of nothing
        return lambda _facts: every
    *rest, last = children
    chained = last
    for child in reversed(rest):
        chained = _both(child, chained) if every else _either(child, chained)
    return chained


def _both(first: Predicate, then: Predicate) -> Predicate:
    return lambda facts: first(facts) and then(facts)


def _either(first: Predicate, then: Predicate) -> Predicate:
    return lambda facts: first(facts) or then(facts)


def _compare(condition: Compare) -> Predicate:
    name, value = condition.field, condition.value
    operator = OPERATORS[condition.op]
    check = operator.python
    if operator.null_test:
        return lambda facts: check(facts[name], value)

    def compare(facts: Facts) -> bool:
        actual = facts[name]
        return actual is not None and check(actual, value)

    return compare

