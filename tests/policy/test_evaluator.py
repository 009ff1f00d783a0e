"""The rules compiled to Python closures answer as the tree-walking evaluator does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaperone.policy.conditions import All, AnyOf, Compare, Condition, Not
from chaperone.policy.evaluator import candidate_of, evaluate, is_candidate, predicate_of

FIELDS = ("record.in_scope", "record.platform", "record.local_hour", "platform.status")
VALUES: dict[str, Any] = {
    "record.in_scope": st.none() | st.booleans(),
    "record.platform": st.none() | st.sampled_from(["p1", "p2"]),
    "record.local_hour": st.none() | st.integers(0, 23),
    "platform.status": st.none() | st.sampled_from(["approved", "denied", "unknown"]),
}
OPERANDS: dict[str, Any] = {
    "record.in_scope": st.booleans(),
    "record.platform": st.sampled_from(["p1", "p2"]),
    "record.local_hour": st.integers(0, 23),
    "platform.status": st.sampled_from(["approved", "denied", "unknown"]),
}
UNARY = ("is_true", "is_false", "is_null", "is_not_null")
BINARY = ("eq", "ne", "lt", "lte", "gt", "gte")


@st.composite
def comparisons(draw: st.DrawFn) -> Compare:
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from([*UNARY, *BINARY, "in", "not_in"]))
    if op in UNARY:
        return Compare(field, op)
    if field in ("record.platform", "platform.status", "record.in_scope") and op in BINARY[2:]:
        op = "eq"  # ordering applies to numbers
    if op in ("in", "not_in"):
        return Compare(field, op, draw(st.lists(OPERANDS[field], max_size=3)))
    return Compare(field, op, draw(OPERANDS[field]))


conditions: st.SearchStrategy[Condition] = st.recursive(
    comparisons(),
    lambda inner: st.lists(inner, max_size=4).map(lambda c: All(tuple(c)))
    | st.lists(inner, max_size=4).map(lambda c: AnyOf(tuple(c)))
    | inner.map(Not),
    max_leaves=12,
)
facts = st.fixed_dictionaries(VALUES)


@settings(max_examples=400, deadline=None)
@given(condition=conditions, row=facts)
def test_a_compiled_condition_answers_as_the_tree(condition: Condition, row: dict[str, Any]) -> None:
    assert predicate_of(condition)(row) is evaluate(condition, row)


@pytest.mark.parametrize("population", ["staff", "student", None])
@pytest.mark.parametrize("is_sender", [True, False])
@pytest.mark.parametrize("subject", ["staff", "sender"])
def test_a_compiled_subject_answers_as_is_candidate(
    subject: str, is_sender: bool, population: str | None
) -> None:
    row = {"subject.is_sender": is_sender, "subject.population": population}
    assert candidate_of(subject)(row) is is_candidate(subject, row)


def test_nothing_to_combine_is_all_true_and_any_false() -> None:
    row = {"local_date": dt.date(2026, 9, 1)}
    assert (predicate_of(All(()))(row), predicate_of(AnyOf(()))(row)) == (True, False)
