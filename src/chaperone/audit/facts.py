"""The facts an audit judges: one row per (record, party person), every vocabulary field.

``facts_query`` builds the relation in SQL (written once in DuckDB's dialect,
parsed by SQLGlot and generated for each backend); ``record_facts`` computes the
same rows in Python for one record. Property tests hold the two to one answer.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from chaperone.audit.inputs import PARTY_POPULATIONS, AuditInputs

FACTS_SQL = """
WITH parties AS (
    SELECT record_id, sender AS address, TRUE AS is_sender FROM records
    UNION ALL
    SELECT record_id, unnest(recipients) AS address, FALSE AS is_sender FROM records
),
resolved AS (
    SELECT p.record_id, a.person_id, a.population,
           bool_or(p.is_sender) AS is_sender, bool_and(a.owned) AS owned
    FROM parties AS p JOIN accounts AS a ON a.address = p.address
    GROUP BY p.record_id, a.person_id, a.population
),
per_record AS (
    SELECT record_id,
           count(*) FILTER (WHERE population = 'staff') AS staff_count,
           count(*) FILTER (WHERE population IN ('staff', 'student', 'parent')) AS member_count,
           coalesce(bool_or(population = 'student'), FALSE) AS has_student,
           coalesce(bool_or(population = 'parent'), FALSE) AS has_parent,
           coalesce(bool_and(owned) FILTER (WHERE population = 'staff'), TRUE) AS staff_owned,
           coalesce(bool_and(owned) FILTER (WHERE population = 'student'), TRUE) AS student_owned,
           list_sort(list(person_id) FILTER (WHERE population IN ('staff', 'student', 'parent')))
               AS members
    FROM resolved GROUP BY record_id
),
copied AS (
    SELECT DISTINCT g.record_id FROM resolved AS g
    JOIN guardians AS l ON l.guardian_id = g.person_id
    JOIN resolved AS s ON s.record_id = g.record_id AND s.person_id = l.student_id
),
matched AS (
    SELECT p.record_id, i.platform_id FROM parties AS p
    JOIN platform_ids AS i ON i.kind = 'address' AND i.identifier = p.address
    UNION ALL
    SELECT p.record_id, i.platform_id FROM parties AS p
    JOIN platform_ids AS i ON i.kind = 'domain' AND i.identifier = split_part(p.address, '@', 2)
    UNION ALL
    SELECT p.record_id, i.platform_id FROM parties AS p
    JOIN platform_ids AS i ON i.kind = 'prefix' AND starts_with(p.address, i.identifier)
),
record_platform AS (
    SELECT record_id, min(platform_id) AS platform_id FROM matched GROUP BY record_id
),
base AS (
    SELECT r.record_id, r.message_id, r.occurred_at, r.channel_type, r.sender, r.recipients,
           r.source_ref, r.has_media, coalesce(r.platform, rp.platform_id) AS platform,
           __LOCAL__ AS local_time, pr.staff_count, pr.member_count, pr.has_student,
           pr.has_parent, pr.staff_owned, pr.student_owned, c.record_id IS NOT NULL AS copied,
           pr.members,
           array_length(r.recipients) AS recipient_count
    FROM records AS r
    JOIN per_record AS pr ON pr.record_id = r.record_id
    LEFT JOIN record_platform AS rp ON rp.record_id = r.record_id
    LEFT JOIN copied AS c ON c.record_id = r.record_id
)
SELECT b.record_id, b.message_id, b.occurred_at, b.sender, b.recipients, b.source_ref,
       CAST(b.local_time AS DATE) AS local_date,
       s.person_id AS subject_id, b.members,
       b.channel_type AS record_channel_type,
       b.platform AS record_platform,
       b.has_media AS record_has_media,
       hour(b.local_time) AS record_local_hour,
       __WEEKDAY__ AS record_local_weekday,
       b.recipient_count AS record_recipient_count,
       b.staff_count >= 1 AND b.member_count >= 2 AS record_in_scope,
       b.has_student AS record_has_student,
       b.has_parent AS record_has_parent,
       b.copied AS record_guardian_copied,
       b.staff_owned AS record_staff_accounts_district_owned,
       b.student_owned AS record_student_accounts_district_owned,
       coalesce(pl.status, 'unknown') AS platform_status,
       CASE WHEN pl.platform_id IS NULL THEN FALSE
            ELSE coalesce(list_contains(pl.channel_types, b.channel_type), FALSE) END
           AS platform_allows_channel,
       CASE WHEN pl.platform_id IS NULL THEN FALSE
       ELSE (NOT b.has_student OR coalesce(list_contains(pl.audiences, 'staff-student'), FALSE))
             AND (NOT b.has_parent OR coalesce(list_contains(pl.audiences, 'staff-parent'), FALSE))
             AND (b.staff_count < 2 OR coalesce(list_contains(pl.audiences, 'staff-staff'), FALSE))
       END AS platform_allows_audiences,
       CASE WHEN pl.platform_id IS NULL THEN FALSE
            ELSE (pl.approved_on IS NULL OR CAST(b.local_time AS DATE) >= pl.approved_on)
             AND (pl.expires_on IS NULL OR CAST(b.local_time AS DATE) <= pl.expires_on)
       END AS platform_in_window,
       s.population AS subject_population,
       s.is_sender AS subject_is_sender,
       s.owned AS subject_account_district_owned
FROM base AS b
JOIN resolved AS s ON s.record_id = b.record_id
LEFT JOIN platforms AS pl ON pl.platform_id = b.platform
"""


@dataclass(frozen=True)
class Backend:
    """What differs between SQL engines: the dialect, and ISO weekday of a local time."""

    dialect: str
    weekday: str  # SQL over a local timestamp named ``t``, Monday = 1 … Sunday = 7


BACKENDS = {
    "duckdb": Backend("duckdb", "isodow(t)"),
    "spark": Backend("spark", "((dayofweek(t) + 5) % 7) + 1"),
}


def facts_query(backend: Backend, timezone: str, fields: set[str] | None = None) -> exp.Query:
    """The facts relation as a syntax tree for one backend and district time zone.

    ``fields`` names the vocabulary fields the rules read; work only other fields
    need (the guardian joins) is left out of the query.
    """
    zoneinfo.ZoneInfo(timezone)  # refuse an unknown zone before it reaches SQL
    tree = sqlglot.parse_one(FACTS_SQL, read="duckdb")
    local = exp.AtTimeZone(
        this=exp.column("occurred_at", table="r"), zone=exp.Literal.string(timezone)
    )
    weekday = sqlglot.parse_one(backend.weekday, read=backend.dialect)

    def substitute(node: exp.Expr) -> exp.Expr:  # the placeholders of FACTS_SQL
        if isinstance(node, exp.Column) and node.name == "__LOCAL__":
            return local.copy()
        if isinstance(node, exp.Column) and node.name == "__WEEKDAY__":
            return weekday.transform(
                lambda n: (
                    exp.column("local_time", table="b")
                    if isinstance(n, exp.Column) and n.name == "t"
                    else n
                )
            )
        return node

    query = tree.transform(substitute)
    if fields is not None and "record.guardian_copied" not in fields:
        query = _without_guardians(query)
    assert isinstance(query, exp.Query)
    return query


def _without_guardians(query: exp.Expr) -> exp.Expr:
    """The facts without the ``copied`` CTE and its join; the field is then always false."""

    def prune(node: exp.Expr) -> exp.Expr | None:
        if isinstance(node, exp.CTE) and node.alias == "copied":
            return None
        if isinstance(node, exp.Join) and isinstance(node.this, exp.Table) \
                and node.this.name == "copied":
            return None
        if isinstance(node, exp.Alias) and node.alias == "copied":
            return exp.alias_(exp.false(), "copied")
        return node

    pruned = query.transform(prune)
    assert pruned is not None
    return pruned


# ---- the same facts in Python, for one record (the gateway; property tests) ----

FactRow = dict[str, Any]


def record_facts(record: Mapping[str, Any], inputs: AuditInputs) -> list[FactRow]:
    """Facts rows of one record (keys are vocabulary field names), one per party person."""
    addresses = [(record["sender"], True), *((r, False) for r in record["recipients"])]
    parties: dict[str, dict[str, Any]] = {}
    for address, is_sender in addresses:
        for party in inputs.accounts.get(address, []):
            entry = parties.setdefault(
                party.person_id, {"population": party.population, "is_sender": False, "owned": True}
            )
            entry["is_sender"] = entry["is_sender"] or is_sender
            entry["owned"] = entry["owned"] and party.owned
    if not parties:
        return []
    shared = _record_level(record, inputs, parties, [a for a, _s in addresses])
    return [
        {
            **shared,
            "subject_id": person_id,
            "subject.population": entry["population"],
            "subject.is_sender": entry["is_sender"],
            "subject.account_district_owned": entry["owned"],
        }
        for person_id, entry in sorted(parties.items())
    ]


def _record_level(
    record: Mapping[str, Any],
    inputs: AuditInputs,
    parties: dict[str, dict[str, Any]],
    addresses: list[str],
) -> FactRow:
    pops = [e["population"] for e in parties.values()]
    staff = pops.count("staff")
    members = sum(1 for p in pops if p in PARTY_POPULATIONS)
    local = record["occurred_at"].astimezone(zoneinfo.ZoneInfo(inputs.timezone))
    platform = record.get("platform") or min(
        (p for p in (inputs.platform_of(a) for a in addresses) if p is not None), default=None
    )
    facts: FactRow = {
        "record.channel_type": record["channel_type"],
        "record.platform": platform,
        "record.has_media": bool(record["has_media"]),
        "record.local_hour": local.hour,
        "record.local_weekday": local.isoweekday(),
        "record.recipient_count": len(record["recipients"]),
        "record.in_scope": staff >= 1 and members >= 2,
        "record.has_student": "student" in pops,
        "record.has_parent": "parent" in pops,
        "record.guardian_copied": any((g, s) in inputs.guardians for g in parties for s in parties),
        "record.staff_accounts_district_owned": all(
            e["owned"] for e in parties.values() if e["population"] == "staff"
        ),
        "record.student_accounts_district_owned": all(
            e["owned"] for e in parties.values() if e["population"] == "student"
        ),
        "local_date": local.date(),
        "members": sorted(p for p, e in parties.items() if e["population"] in PARTY_POPULATIONS),
    }
    facts.update(_platform_facts(inputs, platform, record["channel_type"], pops, local.date()))
    return facts


def _platform_facts(
    inputs: AuditInputs, platform_id: str | None, channel: str, pops: list[str], day: dt.date
) -> FactRow:
    platform = inputs.platforms.get(platform_id) if platform_id else None
    if platform is None:
        return {
            "platform.status": "unknown",
            "platform.allows_channel": False,
            "platform.allows_audiences": False,
            "platform.in_window": False,
        }
    pairs = {f"staff-{p}" for p in pops if p in ("student", "parent")}
    if pops.count("staff") >= 2:
        pairs.add("staff-staff")
    return {
        "platform.status": platform.status,
        "platform.allows_channel": channel in platform.channel_types,
        "platform.allows_audiences": pairs <= set(platform.audiences),
        "platform.in_window": (platform.approved_on is None or day >= platform.approved_on)
        and (platform.expires_on is None or day <= platform.expires_on),
    }
