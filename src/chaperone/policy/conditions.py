"""Condition trees: ``all``/``any``/``not`` over ``{field, op, value}`` comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chaperone.common.problems import Problem
from chaperone.common.yamlfile import LocatedYaml, Path_
from chaperone.policy.operators import OPERATORS
from chaperone.policy.vocabulary import COMBINATORS, FIELDS


@dataclass(frozen=True)
class Compare:
    """A field compared with an operator (and a value, for operators that take one)."""

    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class All:
    """True when every child is true."""

    children: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """True when at least one child is true."""

    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """True when its child is false."""

    child: Condition


Condition = Compare | All | AnyOf | Not

# A rule's subject is an ordinary condition on the facts row's subject person.
SUBJECTS: dict[str, Condition] = {
    "staff": Compare("subject.population", "eq", "staff"),
    "sender": Compare("subject.is_sender", "is_true"),
}


class ConditionParser:
    """Builds a Condition from YAML data, collecting located problems."""

    def __init__(self, doc: LocatedYaml) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def parse(self, data: Any, path: Path_) -> Condition | None:
        """The condition at a path, or None (with problems recorded) when it is invalid."""
        if not isinstance(data, dict) or not data:
            self._fail(path, "a condition is a mapping (all, any, not, or field/op)")
            return None
        if "field" in data or "op" in data:
            return self._compare(data, path)
        if len(data) != 1 or next(iter(data)) not in COMBINATORS:
            keys = ", ".join(str(k) for k in data)
            expected = "expected all, any, not or field/op"
            self._fail((*path, next(iter(data))), f'unknown operator "{keys}" ({expected})')
            return None
        key, value = next(iter(data.items()))
        if key == "not":
            child = self.parse(value, (*path, "not"))
            return None if child is None else Not(child)
        if not isinstance(value, list) or not value:
            self._fail((*path, key), f"{key} takes a non-empty list of conditions")
            return None
        children = [self.parse(item, (*path, key, i)) for i, item in enumerate(value)]
        if any(c is None for c in children):
            return None
        kept = tuple(c for c in children if c is not None)
        return All(kept) if key == "all" else AnyOf(kept)

    def _fail(self, path: Path_, message: str) -> None:
        self.problems.append(self.doc.problem(path, message))

    def _compare(self, data: dict[str, Any], path: Path_) -> Compare | None:
        before = len(self.problems)
        for key in sorted(set(data) - {"field", "op", "value"}, key=str):
            self._fail((*path, key), f'unknown key "{key}" in a comparison')
        name, op = data.get("field"), data.get("op")
        if str(name) not in FIELDS:
            self._fail((*path, "field"), f'unknown field "{name}"')
        if op not in OPERATORS:
            self._fail((*path, "op"), f'unknown operator "{op}"')
        if len(self.problems) > before:
            return None
        message = _value_problem(str(name), str(op), data)
        if message:
            self._fail(path, message)
            return None
        return Compare(str(name), str(op), data.get("value"))


def _value_problem(name: str, op: str, data: dict[str, Any]) -> str | None:
    spec, kind = FIELDS[name], OPERATORS[op].value
    if kind == "none":
        if "value" in data:
            return f"{op} takes no value"
        if not OPERATORS[op].null_test and spec.type is not bool:
            return f"{op} needs a true/false field; {name} is {spec.type.__name__}"
        if OPERATORS[op].null_test and not spec.nullable:
            return f"{name} is never null"
        return None
    if "value" not in data:
        return f"{op} needs a value"
    values = data["value"] if kind == "list" else [data["value"]]
    if kind == "list" and not isinstance(data["value"], list):
        return f"{op} needs a list value"
    if kind == "number" and spec.type is not int:
        return f"{op} needs a number field; {name} is {spec.type.__name__}"
    for value in values:
        if type(value) is not spec.type:
            return f'{name} is {spec.type.__name__}; "{value}" is not'
        if spec.choices and value not in spec.choices:
            return f'{name} has no value "{value}" (expected {", ".join(spec.choices)})'
    return None


def fields_of(condition: Condition) -> set[str]:
    """Every field a condition reads."""
    if isinstance(condition, Compare):
        return {condition.field}
    if isinstance(condition, Not):
        return fields_of(condition.child)
    return set().union(*(fields_of(c) for c in condition.children))
