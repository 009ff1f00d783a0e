"""Loading and validating policy packs, reporting every problem with file:line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from chaperone.common import yamlfile
from chaperone.common.csvfile import decode
from chaperone.common.problems import InputError, Problem
from chaperone.common.yamlfile import LocatedYaml
from chaperone.policy.conditions import Condition, ConditionParser
from chaperone.policy.models import CITATION, PLACEHOLDER, PLACEHOLDERS, Pack, PackSpec, Rule

BUILTIN = ("9052.yaml",)


def parse(text: str, *, source: str) -> Pack:
    """Validate a pack's YAML text; InputError lists every problem at once.

    The checks of citations, rule ids, definitions and conditions read the YAML as
    it is, so they report their problems even when other fields fail validation.
    """
    doc = yamlfile.load(text, source=source)
    if not isinstance(doc.data, dict):
        raise InputError([Problem(source, 1, "a policy pack is a mapping")])
    problems: list[Problem] = []
    spec: PackSpec | None = None
    try:
        spec = PackSpec.model_validate(doc.data)
    except ValidationError as exc:
        problems += doc.problems_from(exc)
    conditions, more = _checks(doc)
    problems += more
    if problems or spec is None:
        raise InputError(sorted(set(problems), key=_order))
    rules = [
        Rule(spec=rule, condition=condition)
        for rule, condition in zip(spec.rules, conditions, strict=True)
        if condition is not None
    ]
    return Pack(spec=spec, rules=rules, text=text)


def load_file(path: Path) -> Pack:
    """A pack from a file."""
    return parse(decode(path.read_bytes(), source=path.name), source=path.name)


def builtin() -> list[Pack]:
    """The packs shipped in the package (Board Policy 9052)."""
    folder = resources.files("chaperone.policy") / "packs"
    return [parse(folder.joinpath(name).read_text("utf-8"), source=name) for name in BUILTIN]


def _order(problem: Problem) -> tuple[int, str]:
    return (problem.line or 0, problem.message)


def _checks(doc: LocatedYaml) -> tuple[list[Condition | None], list[Problem]]:
    """Each rule's parsed condition, and the problems of rules and definitions."""
    data = doc.data
    parser = ConditionParser(doc)
    problems: list[Problem] = []
    policy = data.get("policy")
    sections = {s["id"] for s in _list(data.get("sections")) if isinstance(s, dict) and "id" in s}
    seen: set[object] = set()
    conditions: list[Condition | None] = []
    for i, rule in enumerate(_list(data.get("rules"))):
        at: tuple[str | int, ...] = ("rules", i)
        if not isinstance(rule, dict):
            conditions.append(None)
            continue
        rule_id = rule.get("id")
        if isinstance(rule_id, str | int) and rule_id in seen:
            problems.append(doc.problem((*at, "id"), f'duplicate rule id "{rule_id}"'))
        seen.add(rule_id)
        citation = rule.get("citation")
        if isinstance(citation, str) and policy is not None:
            problems += _citation_problems(citation, str(policy), sections, doc, at)
        explanation = rule.get("explanation")
        if isinstance(explanation, str):
            problems += _template_problems(explanation, doc, (*at, "explanation"))
        conditions.append(parser.parse(rule["when"], (*at, "when")) if "when" in rule else None)
    definitions = data.get("definitions")
    for name, definition in (definitions if isinstance(definitions, dict) else {}).items():
        section = definition.get("section") if isinstance(definition, dict) else None
        if isinstance(section, str) and section not in sections:
            problems.append(
                doc.problem(("definitions", name, "section"), f'unknown section "{section}"')
            )
    return conditions, problems + parser.problems


def _template_problems(text: str, doc: LocatedYaml, at: tuple[str | int, ...]) -> list[Problem]:
    """Unknown placeholders, and braces that are not a placeholder, in an explanation."""
    problems = [
        doc.problem(at, f'unknown placeholder "{{{name}}}" in explanation '
                        f'(expected {", ".join("{" + n + "}" for n in PLACEHOLDERS)})')
        for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS
    ]
    if not problems and ("{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text)):
        problems.append(doc.problem(at, "a brace in an explanation must be a {placeholder}"))
    return problems


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _citation_problems(
    citation: str, policy: str, sections: set[str], doc: LocatedYaml, at: tuple[str | int, ...]
) -> list[Problem]:
    match = CITATION.match(citation)
    where = (*at, "citation")
    if not citation.strip():
        return [doc.problem(where, "missing citation")]
    if match is None:
        return [doc.problem(where, f'citation "{citation}" is not of the form "{policy} §A"')]
    if match["policy"] != policy:
        return [
            doc.problem(
                where, f'citation "{citation}" names policy {match["policy"]}, not {policy}'
            )
        ]
    if match["section"] not in sections:
        return [doc.problem(where, f'unknown section "{match["section"]}" in citation')]
    return []
