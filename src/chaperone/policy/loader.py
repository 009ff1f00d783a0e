"""Loading and validating policy packs, reporting every problem with file:line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from chaperone.common import yamlfile
from chaperone.common.csvfile import decode
from chaperone.common.problems import InputError, Problem
from chaperone.common.yamlfile import LocatedYaml
from chaperone.policy.conditions import ConditionParser
from chaperone.policy.models import CITATION, Pack, PackSpec, Rule

BUILTIN = ("9052.yaml",)


def parse(text: str, *, source: str) -> Pack:
    """Validate a pack's YAML text; InputError lists every problem at once."""
    doc = yamlfile.load(text, source=source)
    if not isinstance(doc.data, dict):
        raise InputError([Problem(source, 1, "a policy pack is a mapping")])
    try:
        spec = PackSpec.model_validate(doc.data)
    except ValidationError as exc:
        problems = doc.problems_from(exc) + _condition_problems(doc)
        raise InputError(sorted(set(problems), key=_order)) from exc
    rules, problems = _rules(spec, doc)
    if problems:
        raise InputError(sorted(problems, key=_order))
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


def _condition_problems(doc: LocatedYaml) -> list[Problem]:
    """Condition problems even when other fields are wrong, so one run reports all."""
    rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
    parser = ConditionParser(doc)
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if isinstance(rule, dict) and "when" in rule:
            parser.parse(rule["when"], ("rules", i, "when"))
    return parser.problems


def _rules(spec: PackSpec, doc: LocatedYaml) -> tuple[list[Rule], list[Problem]]:
    parser = ConditionParser(doc)
    problems: list[Problem] = []
    sections = {s.id for s in spec.sections}
    seen: set[str] = set()
    rules = []
    for i, rule_spec in enumerate(spec.rules):
        at = ("rules", i)
        if rule_spec.id in seen:
            problems.append(doc.problem((*at, "id"), f'duplicate rule id "{rule_spec.id}"'))
        seen.add(rule_spec.id)
        problems += _citation_problems(rule_spec.citation, spec.policy, sections, doc, at)
        condition = parser.parse(rule_spec.when, (*at, "when"))
        if condition is not None:
            rules.append(Rule(spec=rule_spec, condition=condition))
    for name, definition in spec.definitions.items():
        if definition.section not in sections:
            problems.append(
                doc.problem(
                    ("definitions", name, "section"), f'unknown section "{definition.section}"'
                )
            )
    return rules, problems + parser.problems


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
