"""Rules in Python: the same condition tree applied to one record's facts (the gateway).

Facts are a mapping from vocabulary field names (``record.in_scope``) to values.
A comparison with a null value is false, exactly as the SQL compiler makes it.
``evaluate`` walks the tree; ``predicate_of`` turns it once into nested closures
with the same answers, for evaluators that judge many facts rows with the same rules.
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


Predicate = Callable[[Facts], bool]
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


def predicate_of(condition: Condition) -> Predicate:
    """The condition as one function of the facts (``evaluate``'s answers, no tree walk)."""
    if isinstance(condition, All | AnyOf):
        children = tuple(predicate_of(c) for c in condition.children)
        return _chain(children, every=isinstance(condition, All))
    if isinstance(condition, Not):
        child = predicate_of(condition.child)
        return lambda facts: not child(facts)
    return _compiled_compare(condition)


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


def _compiled_compare(condition: Compare) -> Predicate:
    name, op, value = condition.field, condition.op, condition.value
    if op == "is_null":
        return lambda facts: facts[name] is None
    if op == "is_not_null":
        return lambda facts: facts[name] is not None
    if op == "is_true":
        return lambda facts: facts[name] is True
    if op == "is_false":
        return lambda facts: facts[name] is False
    check = CHECKS[op]

    def compare(facts: Facts) -> bool:
        actual = facts[name]
        return actual is not None and check(actual, value)

    return compare


def candidate_of(subject: str) -> Predicate:
    """``is_candidate`` for one rule's subject, as one function of the facts."""
    if subject == "sender":
        return lambda facts: bool(facts["subject.is_sender"])
    return lambda facts: bool(facts["subject.population"] == "staff")
