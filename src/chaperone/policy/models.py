"""A policy pack: a board policy's text, definitions and rules, at one version."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chaperone.policy.conditions import Condition

CITATION = re.compile(r"^(?P<policy>\S+) §(?P<section>[A-Z](?:\.\d+)*)$")

# A rule's ``explanation`` is a template: ``{name}`` is replaced when the sentence is
# read (``chaperone.judge.render``), for the reader; any other brace is an error.
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
PLACEHOLDERS = {
    "subject": "the person the finding is about, as the reader may see them",
    "verb": "what they did: emailed, texted, left a voicemail for, …",
    "counterparts": "who else took part, counted: a student and 2 parents",
    "reason": "why it is outside the policy: the failed approval check, or the accounts",
    "section": "the section the rule cites: §A",
    "citation": "the policy version and section: 2017.1 §A",
    "alternative": "what to use instead, naming an approved platform when there is one",
    "platform": "the platform used, or direct",
    "rule": "the rule id",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Section(_Strict):
    """One section of the policy, with its text."""

    id: str = Field(pattern=r"^[A-Z](\.\d+)*$")
    title: str = ""
    text: str = Field(min_length=1)


class Definition(_Strict):
    """A defined term (§B electronic communication, §C social media)."""

    section: str
    text: str = Field(min_length=1)
    includes: list[str] = []


class RuleSpec(_Strict):
    """A rule as written in the pack; ``when`` is parsed into a Condition by the loader."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
    title: str = Field(min_length=1)
    citation: str
    severity: Literal["low", "medium", "high", "critical"]
    subject: Literal["staff", "sender"] = "staff"
    effect: Literal["finding", "exempt"] = "finding"  # exempt: no finding of its version holds
    enabled: bool = True
    explanation: str | None = Field(default=None, min_length=1)  # a template (PLACEHOLDERS)
    when: Any


class PackSpec(_Strict):
    """A policy pack file."""

    policy: str = Field(min_length=1)
    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    adopted_on: dt.date
    effective_on: dt.date
    sections: list[Section] = Field(min_length=1)
    definitions: dict[str, Definition] = {}
    rules: list[RuleSpec] = []


class Rule(BaseModel):
    """A validated rule with its parsed condition tree."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    spec: RuleSpec
    condition: Condition

    @property
    def id(self) -> str:
        """The rule id."""
        return self.spec.id

    @property
    def section(self) -> str:
        """The section the rule's citation names."""
        match = CITATION.match(self.spec.citation)
        return match["section"] if match else ""


class Pack(BaseModel):
    """A validated pack: its spec, its rules, and its text as loaded."""

    model_config = ConfigDict(frozen=True)

    spec: PackSpec
    rules: list[Rule]
    text: str

    def section(self, section_id: str) -> Section:
        """A section by id (KeyError when absent)."""
        for section in self.spec.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    @property
    def enabled_rules(self) -> list[Rule]:
        """The rules switched on."""
        return [r for r in self.rules if r.spec.enabled]
