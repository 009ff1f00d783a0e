"""A verdict as a sentence a principal can read aloud, rendered when it is read.

The sentence comes from the rule's ``explanation`` template in its pack (the
placeholders of ``policy.models.PLACEHOLDERS``), or, when a rule has none, from the
default ``DEFAULT_TEMPLATE``. A template without placeholders is a plain
sentence about the subject (``{subject} `` is put before it). People are named only
through ``Wording.describe``: the caller decides what this viewer may see (names,
or pseudonyms until a reveal), and the verdict itself holds no name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chaperone.judge.verdicts import Verdict
from chaperone.lake.decisions import stopped_note
from chaperone.policy.models import PLACEHOLDER, Pack
from chaperone.registry.models import Platform

DEFAULT_TEMPLATE = "{subject} {verb} {counterparts} {reason}; {section} requires {alternative}."

VERBS = {
    "email": "emailed",
    "text_message": "texted",
    "voicemail": "left a voicemail for",
    "image_sharing": "shared images with",
    "chat": "messaged",
    "call": "called",
    "social_post": "posted to",
    "social_message": "messaged",
}
NOUNS = {
    "student": ("a student", "students"),
    "parent": ("a parent", "parents"),
    "staff": ("a colleague", "colleagues"),
}
STATUS = {
    "denied": "which the district has denied",
    "pending": "which is still pending approval",
    "retired": "which the district has retired",
}


@dataclass(frozen=True)
class Wording:
    """What a sentence may say, for one reader.

    ``describe`` gives a person as this reader may see them (``Dana Ito (teacher,
    Hillcrest High School)``, or ``Staff 7KQ2M (teacher, Hillcrest High School)``);
    ``platforms`` are the registry's; ``packs`` the pack versions whose templates the
    rules name.
    """

    describe: Callable[[str], str]
    platforms: Mapping[str, Platform]
    packs: Mapping[str, Pack]  # by version

    def template(self, verdict: Verdict) -> tuple[str, str]:
        """The rule's template and its section (``A``), from the pack version that found it."""
        pack = self.packs.get(verdict.policy_version)
        for rule in pack.rules if pack else ():
            if rule.id == verdict.rule_id:
                return rule.spec.explanation or DEFAULT_TEMPLATE, rule.section
        return DEFAULT_TEMPLATE, "A"


def person_phrase(label: str, role: str, schools: tuple[str, ...] | list[str]) -> str:
    """``Dana Ito (teacher, Hillcrest High School)``."""
    return f"{label} ({_role(role)}, {schools[0] if schools else 'district'})"


@functools.lru_cache(maxsize=256)
def _role(role: str) -> str:
    """``guidanceCounselor`` → ``guidance counselor`` (a district has a few roles)."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", role).lower()


def render(verdict: Verdict, wording: Wording) -> str:
    """The sentence of one finding, for the reader ``wording`` is for."""
    template, section = wording.template(verdict)
    if not PLACEHOLDER.search(template):
        template = "{subject} " + template.strip()
    values = _values(verdict, wording, section)
    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))  # unknown (a pack stored before it was checked):
        return value() if value else match.group(0)  # left as written

    text = PLACEHOLDER.sub(fill, template.strip())
    text = re.sub(r"\s+([;,.])", r"\1", re.sub(r"\s{2,}", " ", text))
    if verdict.stopped:
        text = f"{text} {stopped_note(verdict.stopped)}"
    return text


def _values(verdict: Verdict, wording: Wording, section: str) -> dict[str, Callable[[], str]]:
    """Each placeholder's text, computed only if the template uses it."""
    platform = wording.platforms.get(verdict.platform) if verdict.platform else None
    return {
        "subject": lambda: wording.describe(verdict.subject),
        "verb": lambda: VERBS.get(verdict.channel_type, "contacted"),
        "counterparts": lambda: counterparts(verdict),
        "reason": lambda: reason(verdict, platform),
        "section": lambda: f"§{section}",
        "citation": lambda: f"{verdict.policy_version} §{section}",
        "alternative": lambda: alternative(verdict, wording),
        "platform": lambda: platform.name if platform else (verdict.platform or "direct"),
        "rule": lambda: verdict.rule_id,
    }


def counterparts(verdict: Verdict) -> str:
    """``a student and 2 parents``: counted by population, never named."""
    counts: dict[str, int] = {}
    for _person, population in verdict.counterparts:
        counts[population] = counts.get(population, 0) + 1
    parts = [
        NOUNS[pop][0] if n == 1 else f"{n} {NOUNS[pop][1]}"
        for pop, n in sorted(counts.items())
        if pop in NOUNS
    ]
    return " and ".join(parts) or "someone"


def alternative(verdict: Verdict, wording: Wording) -> str:
    """What §A asks for instead, naming the verdict's approved platform when it has one."""
    platform = wording.platforms.get(verdict.alternative) if verdict.alternative else None
    if platform is None:
        return "district accounts or a district-approved platform"
    return f"district accounts or an approved platform such as {platform.name}"


def reason(verdict: Verdict, platform: Platform | None) -> str:
    """Why the communication is outside §A: the failed approval check, or the accounts."""
    if verdict.branch == "direct":
        return _direct(verdict)
    name = platform.name if platform else verdict.platform
    failed, detail = verdict.failed, verdict.failed_detail
    if failed == "unknown" or platform is None:
        return f"on {name}, which is not in the district's registry"
    if failed == "status":
        return f"on {name}, {STATUS.get(str(detail), 'which is not approved')}"
    if failed == "channel":
        return f"on {name}, which is not approved for {verdict.channel_type}"
    if failed == "audience":
        return f"on {name}, which is approved only for {', '.join(platform.audiences)}"
    if failed == "window" and detail == "expired":
        return f"on {name}, whose approval expired on {verdict.failed_on}"
    if failed == "window":
        return f"on {name}, before its approval on {verdict.failed_on}"
    return f"on {name}"


def _direct(verdict: Verdict) -> str:
    noun = "number" if verdict.account_kind == "phone" else "address"
    parts = []
    if verdict.student_accounts == "personal":
        parts.append(f"using a student's personal {noun}")
    if verdict.subject_account == "personal":
        parts.append(f"{'from' if verdict.subject_is_sender else 'at'} a personal {noun}")
    if not parts and not verdict.complete:
        parts.append("outside district accounts")
    return " ".join(parts)
