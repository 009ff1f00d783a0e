"""YAML loading that remembers the line of every value, for located validation errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from chaperone.common.problems import InputError, Problem

Path_ = tuple[str | int, ...]


@dataclass
class LocatedYaml:
    """A YAML document as plain data plus the line (1-based) of each path in it."""

    data: Any
    source: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of a path, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def problem(self, path: Path_, message: str) -> Problem:
        """A problem located at a path of this document."""
        return Problem(self.source, self.line_of(path), message)

    def problems_from(self, error: ValidationError) -> list[Problem]:
        """Every pydantic error as a located, readable problem."""
        return [self.problem(tuple(e["loc"]), _describe(e)) for e in error.errors()]


def load(text: str, *, source: str) -> LocatedYaml:
    """Parse YAML text safely; a syntax error becomes one located problem."""
    try:
        loader = yaml.SafeLoader(text)
        loader.name = source
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:  # PyYAML raises MarkedYAMLError subclasses
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError([Problem(source, line, f"not valid YAML: {reason}")]) from exc
    doc = LocatedYaml(data=None, source=source)
    if node is not None:
        duplicates: list[Problem] = []
        doc.data = _convert(node, (), doc.lines, duplicates)
        if duplicates:  # every one, not just the first: the file is fixed in one go
            raise InputError(duplicates)
    return doc


def _convert(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], duplicates: list[Problem]
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in result:
                line = key_node.start_mark.line + 1
                duplicates.append(Problem(_source(node), line, f'duplicate key "{key}"'))
                continue
            result[key] = _convert(value_node, (*path, key), lines, duplicates)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, duplicates) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise InputError([Problem(_source(node), node.start_mark.line + 1, "unexpected structure")])
    return yaml.SafeLoader("").construct_object(node)


def _source(node: yaml.Node) -> str:
    return str(node.start_mark.name)


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        return f'unknown field "{error["loc"][-1]}"'
    if error["type"] == "missing":
        return f'missing field "{error["loc"][-1]}"'
    if error["type"] == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f'{where}: unknown value "{error["input"]}" (expected {expected})'
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"
