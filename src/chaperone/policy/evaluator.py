"""Rules in Python: the same condition tree applied to one record's facts (the gateway).

Facts are a mapping from vocabulary field names (``record.in_scope``) to values.
A comparison with a null value is false, exactly as the SQL compiler makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaperone.policy.conditions import All, AnyOf, Compare, Condition, Not

Facts = Mapping[str, Any]


def evaluate(condition: Condition, facts: Facts) -> bool:
    """Whether a condition holds for these facts."""
    if isinstance(condition, All):
        return all(evaluate(c, facts) for c in condition.children)
    if isinstance(condition, AnyOf):
        return any(evaluate(c, facts) for c in condition.children)
    if isinstance(condition, Not):
        return not evaluate(condition.child, facts)
    return _compare(condition, facts[condition.field])


Check = Callable[[Any, Any], bool]
CHECKS: dict[str, Check] = {
    "eq": lambda actual, value: bool(actual == value),
    "ne": lambda actual, value: bool(actual != value),
    "lt": lambda actual, value: bool(actual < value),
    "lte": lambda actual, value: bool(actual <= value),
    "gt": lambda actual, value: bool(actual > value),
    "gte": lambda actual, value: bool(actual >= value),
    "in": lambda actual, value: actual in value,
    "not_in": lambda actual, value: actual not in value,
    "is_true": lambda actual, _value: actual is True,
    "is_false": lambda actual, _value: actual is False,
}


def is_candidate(subject: str, facts: Facts) -> bool:
    """Whether the facts' subject person is a candidate subject of a rule."""
    if subject == "sender":
        return bool(facts["subject.is_sender"])
    return bool(facts["subject.population"] == "staff")


def _compare(condition: Compare, actual: Any) -> bool:
    if condition.op == "is_null":
        return actual is None
    if condition.op == "is_not_null":
        return actual is not None
    return actual is not None and CHECKS[condition.op](actual, condition.value)
