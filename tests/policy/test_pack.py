"""The 9052 pack shipped in the package, and validation of a district's own pack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaperone.common.problems import InputError
from chaperone.policy.loader import builtin, parse
from chaperone.policy.operators import OPERATORS
from chaperone.policy.vocabulary import FIELDS
from tests.conftest import SHARED, Cli

POLICY_TEXT = SHARED / "policy-9052.txt"

DRAFT = """\
policy: "9052"
title: Electronic Communication and Social Media Policy
version: "2027.1"
adopted_on: 2017-06-14
effective_on: 2027-01-01
sections:
  - id: A
    text: All communication between District staff, students and parents must use district accounts.
  - id: A.3
    text: Professional communication.
rules:
  - id: late-night
    title: Late-night messages to students
    citation: 9052 §A.3
    severity: low
    explanation: wrote to a student late at night.
    when:
      all:
        - {field: record.has_student, op: is_true}
        - {field: record.local_hour, op: gte, value: 22}
"""


def test_the_builtin_pack_is_board_policy_9052() -> None:
    (pack,) = builtin()
    spec = pack.spec
    assert (spec.policy, str(spec.adopted_on)) == ("9052", "2017-06-14")
    assert [s.id for s in spec.sections] == [
        "A",
        "A.1",
        "A.2",
        "A.3",
        "A.4",
        "B",
        "C",
        "C.1",
        "C.2",
        "D",
    ]
    assert {r.id for r in pack.enabled_rules} == {"9052-A-platform", "9052-A-direct",
                                                  "9052-A-family"}
    assert [r.id for r in pack.enabled_rules if r.spec.effect == "exempt"] == ["9052-A-family"]
    assert all(r.spec.citation.startswith("9052 §") for r in pack.rules)
    assert set(spec.definitions["electronic_communication"].includes) >= {
        "email",
        "text_message",
        "voicemail",
        "image_sharing",
    }


def test_section_texts_are_the_boards_words() -> None:
    if not POLICY_TEXT.exists():
        pytest.skip(f"policy text not present at {POLICY_TEXT}")
    board = " ".join(POLICY_TEXT.read_text(encoding="utf-8").split())
    (pack,) = builtin()
    for section in pack.spec.sections:
        assert " ".join(section.text.split()) in board, section.id


def problems_of(text: str) -> list[str]:
    with pytest.raises(InputError) as raised:
        parse(text, source="pack.yaml")
    return [str(p) for p in raised.value.problems]


def test_a_draft_pack_is_valid() -> None:
    pack = parse(DRAFT, source="pack.yaml")
    assert [r.section for r in pack.rules] == ["A.3"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("citation: 9052 §A.3", 'citation: ""', "pack.yaml:14: missing citation"),
        ("citation: 9052 §A.3", "citation: 9052 §E", 'pack.yaml:14: unknown section "E" in citation'),
        ("citation: 9052 §A.3", "citation: 9051 §A", 'pack.yaml:14: citation "9051 §A" names policy 9051, not 9052'),
        ("field: record.has_student", "field: record.mood", 'pack.yaml:19: unknown field "record.mood"'),
        ("op: gte", "op: roughly", 'pack.yaml:20: unknown operator "roughly"'),
        ("value: 22", 'value: "late"', 'pack.yaml:20: record.local_hour is int; "late" is not'),
        ("op: is_true}", "op: gt, value: 1}", "pack.yaml:19: gt needs a number field; record.has_student is bool"),
        ("all:", "most:", 'pack.yaml:18: unknown operator "most" (expected all, any, not or field/op)'),
        ("severity: low", "severity: dire", "pack.yaml:15: rules.0.severity: unknown value \"dire\" (expected 'low', 'medium', 'high' or 'critical')"),
        ("    title: Late", "    colour: red\n    title: Late", 'pack.yaml:13: unknown field "colour"'),
    ],
)  # fmt: skip
def test_each_problem_is_named_with_its_line(old: str, new: str, expected: str) -> None:
    assert old in DRAFT
    assert problems_of(DRAFT.replace(old, new)) == [expected]


def test_every_problem_is_reported_at_once() -> None:
    rule = DRAFT[DRAFT.index("  - id: late-night") :]
    twice = DRAFT + rule.replace("record.local_hour", "record.mood")
    broken = twice.replace("citation: 9052 §A.3", "citation: 9052 §Q", 1)
    assert problems_of(broken) == [
        'pack.yaml:14: unknown section "Q" in citation',
        'pack.yaml:21: duplicate rule id "late-night"',
        'pack.yaml:29: unknown field "record.mood"',
    ]


def test_the_vocabulary_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "formats" / "policy-pack.md").read_text(
        "utf-8"
    )
    missing = [name for name in [*FIELDS, *OPERATORS] if f"`{name}`" not in docs]
    assert missing == []


@pytest.mark.store
def test_show_validate_and_import_a_later_version(cli: Cli, tmp_path: Path) -> None:
    shown = cli.ok("policy", "show").out
    assert "9052 §A" in shown and "Electronic Communication" in shown
    family = next(line for line in shown.splitlines() if "9052-A-family" in line)
    assert "exempt" in family and "yes" in family
    draft = tmp_path / "9052-2027.yaml"
    draft.write_text(DRAFT, encoding="utf-8")
    assert "is valid" in cli.ok("policy", "validate", draft).out
    cli.ok("policy", "import", draft)
    assert "no change" in cli.ok("policy", "import", draft).out
    before = json.loads(cli.ok("policy", "show", "--on", "2026-12-31", "--format", "json").out)
    after = json.loads(cli.ok("policy", "show", "--on", "2027-01-01", "--format", "json").out)
    assert (before["version"], after["version"]) == ("2017.1", "2027.1")
    draft.write_text(DRAFT.replace("Late-night", "Night"), encoding="utf-8")
    changed = cli("policy", "import", draft)
    assert changed.code == 1 and "give the new text a new version" in changed.err


def test_validate_exits_non_zero_with_one_line_per_problem(cli: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "pack.yaml"
    draft.write_text(DRAFT.replace("op: gte", "op: roughly"), encoding="utf-8")
    result = cli("policy", "validate", draft)
    assert result.code == 1
    assert result.err.splitlines() == [
        'pack.yaml:20: unknown operator "roughly"',
        "error: 1 problem(s); nothing was changed",
    ]


def test_a_wrong_field_does_not_hide_the_other_problems() -> None:
    rule = DRAFT[DRAFT.index("  - id: late-night") :]
    second = rule.replace("citation: 9052 §A.3", 'citation: ""').replace("op: gte", "op: roughly")
    broken = (DRAFT + second.replace("record.local_hour", "record.mood")).replace(
        "    title: Late", "    colour: red\n    title: Late", 1
    )
    broken = broken.replace("citation: 9052 §A.3", "citation: 9052 §Q", 1)
    assert problems_of(broken) == [
        'pack.yaml:13: unknown field "colour"',
        'pack.yaml:15: unknown section "Q" in citation',
        'pack.yaml:22: duplicate rule id "late-night"',
        "pack.yaml:24: missing citation",
        'pack.yaml:30: unknown field "record.mood"',
        'pack.yaml:30: unknown operator "roughly"',
    ]


def test_definitions_name_known_sections_even_when_a_rule_is_wrong() -> None:
    broken = DRAFT.replace(
        "rules:\n",
        "definitions:\n  social_media:\n    section: Z\n    text: Online presence.\nrules:\n",
    ).replace("severity: low", "severity: dire")
    assert [p.split(": ", 1)[1] for p in problems_of(broken)] == [
        'unknown section "Z"',
        "rules.0.severity: unknown value \"dire\" (expected 'low', 'medium', 'high' or 'critical')",
    ]
