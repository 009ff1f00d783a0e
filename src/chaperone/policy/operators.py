"""The rule language's operators, each defined once: its value, its SQL, its Python, its words.

Datasette's ``filters.py`` defines each filter's SQL and its human sentence side by
side; this table does the same for rule conditions. The SQL compiler and the Python
evaluator (``chaperone.judge.conditions``) and the pack's validator all read it, so an
operator added here is one that every path knows, and none can answer differently:

* ``value`` says what the operator compares with: ``none``, ``scalar``, ``list`` or
  ``number`` (the validator's check);
* ``sql`` builds the SQLGlot expression of ``column <op> value``; it is never given a
  null-safe column, and the compiler wraps nullable fields so SQL's three-valued
  logic gives Python's two-valued answers;
* ``python`` answers for a value that is not None (None is handled once, by the
  evaluator, exactly as ``COALESCE(…, FALSE)`` handles it in SQL); the null tests
  set ``null_test`` and are given the value as it is;
* ``words`` is the operator in a sentence (``record.local_hour is less than 7``).

To add an operator: one entry here, a row in docs/policy-packs.md, and a row in the
evaluator-agreement tests' operator table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

SqlBuilder = Callable[[exp.Expr, Any], exp.Expr]
Check = Callable[[Any, Any], bool]


def literal(value: Any) -> exp.Expr:
    """A Python value of the vocabulary as a SQL literal."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


@dataclass(frozen=True)
class Operator:
    """One operator of the rule language (see the module docstring)."""

    name: str
    value: str  # "none", "scalar", "list" or "number"
    sql: SqlBuilder
    python: Check
    words: str
    null_test: bool = False  # is_null / is_not_null: the only ones that see a None

    def sentence(self, field: str, value: Any = None) -> str:
        """``record.local_hour is less than 7``."""
        if self.value == "none":
            return f"{field} {self.words}"
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        return f"{field} {self.words} {shown}"


def _in(column: exp.Expr, values: Any) -> exp.Expr:
    return exp.In(this=column, expressions=[literal(v) for v in values])


_TABLE = (
    Operator("eq", "scalar", lambda c, v: exp.EQ(this=c, expression=literal(v)),
             lambda a, v: bool(a == v), "is"),
    Operator("ne", "scalar", lambda c, v: exp.NEQ(this=c, expression=literal(v)),
             lambda a, v: bool(a != v), "is not"),
    Operator("in", "list", _in, lambda a, v: a in v, "is one of"),
    Operator("not_in", "list", lambda c, v: exp.not_(exp.paren(_in(c, v))),
             lambda a, v: a not in v, "is none of"),
    Operator("lt", "number", lambda c, v: exp.LT(this=c, expression=literal(v)),
             lambda a, v: bool(a < v), "is less than"),
    Operator("lte", "number", lambda c, v: exp.LTE(this=c, expression=literal(v)),
             lambda a, v: bool(a <= v), "is at most"),
    Operator("gt", "number", lambda c, v: exp.GT(this=c, expression=literal(v)),
             lambda a, v: bool(a > v), "is more than"),
    Operator("gte", "number", lambda c, v: exp.GTE(this=c, expression=literal(v)),
             lambda a, v: bool(a >= v), "is at least"),
    Operator("is_true", "none", lambda c, _v: c.eq(exp.true()),
             lambda a, _v: a is True, "is true"),
    Operator("is_false", "none", lambda c, _v: c.eq(exp.false()),
             lambda a, _v: a is False, "is false"),
    Operator("is_null", "none", lambda c, _v: exp.Is(this=c, expression=exp.Null()),
             lambda a, _v: a is None, "is empty", null_test=True),
    Operator("is_not_null", "none",
             lambda c, _v: exp.not_(exp.Is(this=c, expression=exp.Null())),
             lambda a, _v: a is not None, "is set", null_test=True),
)


def _table(operators: tuple[Operator, ...]) -> dict[str, Operator]:
    table: dict[str, Operator] = {}
    for operator in operators:
        if operator.name in table:  # an explicit table: a duplicate name is a mistake
            raise ValueError(f'operator "{operator.name}" is defined twice')
        table[operator.name] = operator
    return table


OPERATORS: dict[str, Operator] = _table(_TABLE)
