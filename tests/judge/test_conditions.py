"""One operator table, two paths: a condition as SQL (run by DuckDB) and as Python agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaperone.judge.conditions import column_name, to_python, to_sql
from chaperone.policy.conditions import SUBJECTS, All, AnyOf, Compare, Condition, Not
from chaperone.policy.operators import OPERATORS

FIELDS = ("record.in_scope", "record.platform", "record.local_hour", "platform.status")
VALUES: dict[str, Any] = {  # only a nullable field of the vocabulary is ever None
    "record.in_scope": st.booleans(),
    "record.platform": st.none() | st.sampled_from(["p1", "p2"]),
    "record.local_hour": st.integers(0, 23),
    "platform.status": st.sampled_from(["approved", "denied", "unknown"]),
}
OPERANDS: dict[str, Any] = {
    "record.in_scope": st.booleans(),
    "record.platform": st.sampled_from(["p1", "p2"]),
    "record.local_hour": st.integers(0, 23),
    "platform.status": st.sampled_from(["approved", "denied", "unknown"]),
}
UNARY = ("is_true", "is_false", "is_null", "is_not_null")
BINARY = ("eq", "ne", "lt", "lte", "gt", "gte")
TYPES = {"record.in_scope": "BOOLEAN", "record.platform": "VARCHAR",
         "record.local_hour": "INTEGER", "platform.status": "VARCHAR"}
DB = duckdb.connect()


def by_sql(condition: Condition, row: dict[str, Any]) -> bool:
    """The condition's SQL over a one-row relation of these facts, run by DuckDB."""
    columns = ", ".join(f"CAST(? AS {TYPES[f]}) AS {column_name(f)}" for f in FIELDS)
    query = f"SELECT ({to_sql(condition).sql(dialect='duckdb')}) FROM (SELECT {columns})"
    found = DB.execute(query, [row[f] for f in FIELDS]).fetchone()
    assert found is not None
    return bool(found[0])  # a NULL answer would be false in a WHERE, as None is in Python


def test_every_operator_is_covered_here() -> None:
    assert set(OPERATORS) == {*UNARY, *BINARY, "in", "not_in"}


# The operators the pack's validator allows on each field (by its type and nullability).
ALLOWED = {
    "record.in_scope": ("is_true", "is_false", "eq", "ne", "in", "not_in"),
    "record.platform": ("is_null", "is_not_null", "eq", "ne", "in", "not_in"),
    "record.local_hour": (*BINARY, "in", "not_in"),
    "platform.status": ("eq", "ne", "in", "not_in"),
}


@st.composite
def comparisons(draw: st.DrawFn) -> Compare:
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(ALLOWED[field]))
    if op in UNARY:
        return Compare(field, op)
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


@settings(max_examples=300, deadline=None)
@given(condition=conditions, row=facts)
def test_sql_and_python_answer_alike(condition: Condition, row: dict[str, Any]) -> None:
    assert to_python(condition)(row) is by_sql(condition, row)


@pytest.mark.parametrize(("subject", "row", "expected"), [
    ("staff", {"subject.population": "staff", "subject.is_sender": False}, True),
    ("staff", {"subject.population": "student", "subject.is_sender": True}, False),
    ("staff", {"subject.population": None, "subject.is_sender": True}, False),
    ("sender", {"subject.population": "student", "subject.is_sender": True}, True),
    ("sender", {"subject.population": "staff", "subject.is_sender": False}, False),
])
def test_a_rule_subject_is_an_ordinary_condition(
    subject: str, row: dict[str, Any], expected: bool
) -> None:
    assert to_python(SUBJECTS[subject])(row) is expected


def test_nothing_to_combine_is_all_true_and_any_false() -> None:
    row = {"local_date": dt.date(2026, 9, 1)}
    assert (to_python(All(()))(row), to_python(AnyOf(()))(row)) == (True, False)


@pytest.mark.parametrize(("condition", "sentence"), [
    (Compare("record.local_hour", "lt", 7), "record.local_hour is less than 7"),
    (Compare("record.platform", "is_null"), "record.platform is empty"),
    (Compare("platform.status", "in", ["denied", "pending"]),
     "platform.status is one of denied, pending"),
])
def test_each_operator_reads_as_words(condition: Compare, sentence: str) -> None:
    assert OPERATORS[condition.op].sentence(condition.field, condition.value) == sentence
