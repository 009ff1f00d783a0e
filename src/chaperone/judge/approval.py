"""Is platform P approved for channel T, these audiences, on local day D — and if not, why.

One function answers it (``approve``), in Python and, built from the same checks, in
SQL (``sql_checks``). The facts' ``platform.*`` fields, a finding's verdict (which
check failed) and the approved alternative a sentence or the gateway suggests all
come from here, so a suggestion can only name a platform that this function approves
for that exact communication.

The checks, in the order a verdict names the first that failed:

* ``status``   — the registry says ``approved``;
* ``channel``  — the channel type is among the platform's channel types;
* ``audience`` — every pair of populations taking part is among its audiences
  (``staff-student`` when a student takes part, ``staff-parent`` for a parent,
  ``staff-staff`` for two or more staff);
* ``window``   — the local day lies within ``approved_on`` … ``expires_on``
  (inclusive); ``before`` or ``expired`` says which side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlglot import exp

from chaperone.registry.models import Platform

# (audience pair, the facts field that says the record needs it)
AUDIENCE_PAIRS = (
    ("staff-student", "record.has_student"),
    ("staff-parent", "record.has_parent"),
    ("staff-staff", "record.several_staff"),
)
# What the answer depends on besides the registry: the facts fields it reads.
READS = ("record.channel_type", "record.platform", "local_date",
         *(field for _pair, field in AUDIENCE_PAIRS))


def audiences_of(facts: Mapping[str, object], *, columns: bool = False) -> frozenset[str]:
    """The audience pairs a communication needs, from its facts row (keyed by field
    names, or by the facts relation's column names when ``columns``)."""
    return frozenset(
        pair for pair, field in AUDIENCE_PAIRS
        if facts[field.replace(".", "_") if columns else field]
    )


@dataclass(frozen=True)
class Approval:
    """The answer: approved, or the first check that failed (and, for the audience
    check, the first pair missing; for the window, ``before`` or ``expired``)."""

    failed: str | None = None  # "unknown", "status", "channel", "audience", "window"
    detail: str | None = None  # the missing audience pair, or "before" / "expired"

    @property
    def approved(self) -> bool:
        """True when every check passed."""
        return self.failed is None


APPROVED = Approval()
UNKNOWN = Approval("unknown")


def approve(platform: Platform | None, channel: str, audiences: Iterable[str],
            day: dt.date) -> Approval:
    """Whether ``platform`` is approved for this channel, these audience pairs and day."""
    if platform is None:
        return UNKNOWN
    if platform.status != "approved":
        return Approval("status", platform.status)
    if channel not in platform.channel_types:
        return Approval("channel", channel)
    for pair, _field in AUDIENCE_PAIRS:  # in the table's order, for a stable answer
        if pair in audiences and pair not in platform.audiences:
            return Approval("audience", pair)
    if platform.approved_on is not None and day < platform.approved_on:
        return Approval("window", "before")
    if platform.expires_on is not None and day > platform.expires_on:
        return Approval("window", "expired")
    return APPROVED


def checks(platform: Platform | None, channel: str, audiences: Iterable[str],
           day: dt.date) -> dict[str, object]:
    """The facts' ``platform.*`` fields: each check on its own (not only the first)."""
    if platform is None:
        return dict(UNKNOWN_FACTS)
    wanted = set(audiences)
    return {
        "platform.status": platform.status,
        "platform.allows_channel": channel in platform.channel_types,
        "platform.allows_audiences": wanted <= set(platform.audiences),
        "platform.in_window": (platform.approved_on is None or day >= platform.approved_on)
        and (platform.expires_on is None or day <= platform.expires_on),
    }


UNKNOWN_FACTS: Mapping[str, object] = {
    "platform.status": "unknown",
    "platform.allows_channel": False,
    "platform.allows_audiences": False,
    "platform.in_window": False,
}


def alternative(platforms: Iterable[Platform], channel: str, audiences: Iterable[str],
                day: dt.date) -> Platform | None:
    """The first approved platform (by name) for exactly this communication, if any."""
    wanted = frozenset(audiences)
    for platform in sorted(platforms, key=lambda p: (p.name, p.id)):
        if approve(platform, channel, wanted, day).approved:
            return platform
    return None


def sql_checks(platform: str, channel: exp.Expr, needs: Mapping[str, exp.Expr],
               day: exp.Expr) -> dict[str, exp.Expr]:
    """The ``platform.*`` facts as SQL over a ``platforms`` row aliased ``platform``.

    ``needs`` maps each audience pair to the SQL that says the record needs it;
    ``channel`` and ``day`` are the record's channel type and local date. A record
    whose platform is not in the registry reads false (its status, ``unknown``).
    """

    def col(name: str) -> exp.Column:
        return exp.column(name, table=platform)

    def contains(name: str, value: exp.Expr) -> exp.Expr:
        found = exp.func("list_contains", col(name), value, dialect="duckdb")
        return exp.Coalesce(this=found, expressions=[exp.false()])

    missing = exp.Is(this=col("platform_id"), expression=exp.Null())

    def known(test: exp.Expr) -> exp.Expr:
        return exp.Case(ifs=[exp.If(this=missing, true=exp.false())], default=test)

    audiences = exp.and_(*(
        exp.paren(exp.or_(exp.not_(exp.paren(needs[pair])),
                          contains("audiences", exp.Literal.string(pair))))
        for pair, _field in AUDIENCE_PAIRS
    ))
    window = exp.and_(
        exp.paren(exp.or_(exp.Is(this=col("approved_on"), expression=exp.Null()),
                          day.copy() >= col("approved_on"))),
        exp.paren(exp.or_(exp.Is(this=col("expires_on"), expression=exp.Null()),
                          day.copy() <= col("expires_on"))),
    )
    return {
        "platform.status": exp.Coalesce(this=col("status"),
                                        expressions=[exp.Literal.string("unknown")]),
        "platform.allows_channel": known(contains("channel_types", channel)),
        "platform.allows_audiences": known(audiences),
        "platform.in_window": known(window),
    }
