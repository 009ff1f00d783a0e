"""The facts relation in SQL: one row per (record, party person), every vocabulary field.

``facts_query`` builds it (written once in DuckDB's dialect, parsed by SQLGlot and
generated for each backend); ``judge.facts.record_facts`` computes the same rows in
Python for one record, and property tests hold the two to one answer. ``rows_query``
adds what a finding shows (the record's own columns, the persons taking part) to the
facts rows the rules kept, and only to those.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from chaperone.judge import approval
from chaperone.judge.rules import RuleWindow, fields_read
from chaperone.judge.world import World

# ``record_key`` identifies a record within one query: each engine's ``records`` view
# provides it (DuckDB: the file and row position, a number; Spark: ``record_id``), so
# the joins and groupings here need not carry the long ``record_id`` text. Persons
# likewise go by the ``person_key`` number of ``accounts`` (``subject_key``), and
# their ids are looked up (``people``) for the rows a rule matched.
FACTS_SQL = """
WITH parties AS (
    SELECT record_key, unnest(list_prepend(sender, recipients)) AS address FROM records
),
reached AS (
    -- each party's persons (by its address), and the platform its address names: an
    -- address identifier, else a domain one (after the last @), and the least of that
    -- and any prefix's
    SELECT p.record_key, a.person_key, a.population, a.owned,
           least(coalesce(ia.platform_id, id.platform_id), ix.platform_id) AS platform_id
    FROM parties AS p
    LEFT JOIN accounts AS a ON a.address = p.address
    LEFT JOIN platform_ids AS ia ON ia.kind = 'address' AND ia.identifier = p.address
    LEFT JOIN platform_ids AS id ON id.kind = 'domain' AND id.identifier
        = CASE WHEN contains(p.address, '@') THEN split_part(p.address, '@', -1) END
    LEFT JOIN platform_ids AS ix ON ix.kind = 'prefix' AND starts_with(p.address, ix.identifier)
    WHERE a.person_key IS NOT NULL OR ia.platform_id IS NOT NULL OR id.platform_id IS NOT NULL
       OR ix.platform_id IS NOT NULL
),
resolved AS (
    SELECT record_key, person_key, population, bool_and(owned) AS owned
    FROM reached WHERE person_key IS NOT NULL GROUP BY record_key, person_key, population
),
people AS (
    SELECT DISTINCT person_key, person_id FROM accounts
),
per_record AS (
    SELECT record_key,
           coalesce(bool_or(population = 'staff'), FALSE) AND coalesce(
               min(person_key) FILTER (WHERE population IN ('staff', 'student', 'parent'))
               < max(person_key) FILTER (WHERE population IN ('staff', 'student', 'parent')),
               FALSE) AS in_scope,
           coalesce(min(person_key) FILTER (WHERE population = 'staff')
               < max(person_key) FILTER (WHERE population = 'staff'), FALSE) AS several_staff,
           coalesce(bool_or(population = 'student'), FALSE) AS has_student,
           coalesce(bool_or(population = 'parent'), FALSE) AS has_parent,
           coalesce(bool_and(owned) FILTER (WHERE population = 'staff'), TRUE) AS staff_owned,
           coalesce(bool_and(owned) FILTER (WHERE population = 'student'), TRUE) AS student_owned,
           min(platform_id) AS matched_platform
    FROM reached GROUP BY record_key
),
copied AS (
    SELECT DISTINCT g.record_key FROM reached AS g
    JOIN people AS gp ON gp.person_key = g.person_key
    JOIN guardians AS l ON l.guardian_id = gp.person_id
    JOIN people AS sp ON sp.person_id = l.student_id
    JOIN reached AS s ON s.record_key = g.record_key AND s.person_key = sp.person_key
),
senders AS (
    SELECT DISTINCT address, person_key FROM accounts
),
family_keys AS (
    -- each guardian's children and their children's other guardians, by person key
    SELECT g.person_key AS guardian_key, r.person_key AS relative_key
    FROM family AS f JOIN people AS g ON g.person_id = f.guardian_id
    JOIN people AS r ON r.person_id = f.relative_id
),
kin AS (
    -- a staff guardian party whose every other staff, student or parent party is family
    SELECT s.record_key, s.person_key AS subject_key,
           count(*) FILTER (WHERE fk.relative_key IS NULL) = 0 AS family
    FROM resolved AS s
    JOIN resolved AS o ON o.record_key = s.record_key AND o.person_key <> s.person_key
        AND o.population IN ('staff', 'student', 'parent')
    LEFT JOIN family_keys AS fk ON fk.guardian_key = s.person_key
        AND fk.relative_key = o.person_key
    WHERE s.population = 'staff' AND s.person_key IN (SELECT guardian_key FROM family_keys)
    GROUP BY s.record_key, s.person_key
),
base AS (
    SELECT r.record_key, r.channel_type, r.sender, r.has_media,
           coalesce(r.platform, pr.matched_platform) AS platform, __LOCAL__ AS local_time,
           pr.in_scope, pr.several_staff, pr.has_student, pr.has_parent, pr.staff_owned,
           pr.student_owned, c.record_key IS NOT NULL AS copied,
           array_length(r.recipients) AS recipient_count
    FROM records AS r
    JOIN per_record AS pr ON pr.record_key = r.record_key
    LEFT JOIN copied AS c ON c.record_key = r.record_key
)
SELECT b.record_key,
       CAST(b.local_time AS DATE) AS local_date,
       s.person_key AS subject_key,
       b.channel_type AS record_channel_type,
       b.platform AS record_platform,
       b.has_media AS record_has_media,
       hour(b.local_time) AS record_local_hour,
       __WEEKDAY__ AS record_local_weekday,
       b.recipient_count AS record_recipient_count,
       b.in_scope AS record_in_scope,
       b.several_staff AS record_several_staff,
       b.has_student AS record_has_student,
       b.has_parent AS record_has_parent,
       b.copied AS record_guardian_copied,
       b.staff_owned AS record_staff_accounts_district_owned,
       b.student_owned AS record_student_accounts_district_owned,
       __PLATFORM_STATUS__ AS platform_status,
       __ALLOWS_CHANNEL__ AS platform_allows_channel,
       __ALLOWS_AUDIENCES__ AS platform_allows_audiences,
       __IN_WINDOW__ AS platform_in_window,
       s.population AS subject_population,
       sa.person_key IS NOT NULL AS subject_is_sender,
       s.owned AS subject_account_district_owned,
       coalesce(k.family, FALSE) AS subject_family
FROM base AS b
JOIN resolved AS s ON s.record_key = b.record_key
LEFT JOIN platforms AS pl ON pl.platform_id = b.platform
LEFT JOIN senders AS sa ON sa.address = b.sender AND sa.person_key = s.person_key
LEFT JOIN kin AS k ON k.record_key = b.record_key AND k.subject_key = s.person_key
"""

# The rows an audit returns: the facts rows that a rule matched (``hits``, which the
# query builds over ``facts``), with the record's own columns, the subject's id, whether
# the subject sent it, and the persons taking part. All are looked up for those rows
# only, after the rules have filtered. ``f.*`` stands for the columns of ``found`` but
# the two keys.
ROWS_SQL = """
WITH found AS (
    SELECT h.*, r.record_id, r.message_id, r.occurred_at, r.sender, r.recipients, r.source_ref
    FROM hits AS h JOIN records AS r ON r.record_key = h.record_key
)
SELECT f.*, pe.person_id AS subject_id, sa.person_key IS NOT NULL AS subject_is_sender,
       coalesce(m.members, CAST([] AS VARCHAR[])) AS members
FROM found AS f
JOIN people AS pe ON pe.person_key = f.subject_key
LEFT JOIN (SELECT DISTINCT address, person_key FROM accounts) AS sa
    ON sa.address = f.sender AND sa.person_key = f.subject_key
LEFT JOIN (
    SELECT x.record_key, x.subject_key, list_sort(list(DISTINCT a.person_id)) AS members
    FROM (
        SELECT record_key, subject_key, unnest(list_prepend(sender, recipients)) AS address
        FROM found
    ) AS x
    JOIN accounts AS a ON a.address = x.address
    WHERE a.population IN ('staff', 'student', 'parent')
    GROUP BY x.record_key, x.subject_key
) AS m ON m.record_key = f.record_key AND m.subject_key = f.subject_key
"""

# Work that only some fields need: the CTE left out (with its joins) when no rule reads
# the field, and the facts column that then reads false.
OPTIONAL = {
    "record.guardian_copied": (("copied",), "copied"),
    "subject.is_sender": (("senders",), "subject_is_sender"),
    "subject.family": (("kin", "family_keys"), "subject_family"),
}

# The facts fields that building a finding's verdict reads (``judge.verdicts``), besides
# the subject and the local date (``subject.is_sender`` comes
# with the record's columns): an audit's rows carry these and the rules' match
# columns, no other field.
FINDING_FIELDS = (
    "record.channel_type",
    "record.platform",
    "record.several_staff",
    "record.has_student",
    "record.has_parent",
    "record.student_accounts_district_owned",
    "platform.allows_channel",
    "platform.allows_audiences",
    "subject.population",
    "subject.account_district_owned",
)


@dataclass(frozen=True)
class Backend:
    """What differs between SQL engines: the dialect, ISO weekday of a local time, and
    whether a CTE can be asked to be computed once (``AS MATERIALIZED``)."""

    dialect: str
    weekday: str  # SQL over a local timestamp named ``t``, Monday = 1 … Sunday = 7
    materialize: bool = False


BACKENDS = {
    "duckdb": Backend("duckdb", "isodow(t)", materialize=True),
    "spark": Backend("spark", "((dayofweek(t) + 5) % 7) + 1"),
}

# CTEs read more than once when a field is computed, which an engine would otherwise
# compute again for each read: ``kin`` reads ``resolved`` beside the facts' own join
# (measured with 1,000 staff guardians: the audit query with the family rule took 1.65x
# the time of the query without it; 1.2x once ``resolved`` is materialized).
MATERIALIZE = {"subject.family": ("resolved",)}


def facts_query(backend: Backend, timezone: str, fields: set[str] | None = None) -> exp.Query:
    """The facts relation as a syntax tree for one backend and district time zone.

    ``fields`` names the vocabulary fields the rules read; work only other fields
    need (the guardian joins) is left out of the query.
    """
    zoneinfo.ZoneInfo(timezone)  # refuse an unknown zone before it reaches SQL
    tree = _parsed(FACTS_SQL)
    local = exp.AtTimeZone(
        this=exp.column("occurred_at", table="r"), zone=exp.Literal.string(timezone)
    )
    weekday = sqlglot.parse_one(backend.weekday, read=backend.dialect)
    placeholders = _approval_sql()

    def substitute(node: exp.Expr) -> exp.Expr:  # the placeholders of FACTS_SQL
        if isinstance(node, exp.Column) and node.name == "__LOCAL__":
            return local.copy()
        if isinstance(node, exp.Column) and node.name in placeholders:
            return placeholders[node.name].copy()
        if isinstance(node, exp.Column) and node.name == "__WEEKDAY__":
            return weekday.transform(
                lambda n: (
                    exp.column("local_time", table="b")
                    if isinstance(n, exp.Column) and n.name == "t"
                    else n
                )
            )
        return node

    query = tree.transform(substitute, copy=False)  # a tree of our own, parsed just now
    for field, (ctes, column) in OPTIONAL.items():
        if fields is not None and field not in fields:
            query = _without(query, ctes, column)
    kept = {cte for field, ctes in MATERIALIZE.items()
            if fields is None or field in fields for cte in ctes}
    for cte in query.find_all(exp.CTE):
        if backend.materialize and cte.alias in kept:
            cte.set("materialized", True)
    assert isinstance(query, exp.Query)
    return query


def _approval_sql() -> dict[str, exp.Expr]:
    """The ``platform.*`` placeholders of FACTS_SQL: the approval function's SQL form."""
    needs = {
        pair: exp.column(field.removeprefix("record."), table="b")
        for pair, field in approval.AUDIENCE_PAIRS
    }
    day = exp.cast(exp.column("local_time", table="b"), exp.DataType.build("date"))
    built = approval.sql_checks("pl", exp.column("channel_type", table="b"), needs, day)
    return {
        "__PLATFORM_STATUS__": built["platform.status"],
        "__ALLOWS_CHANNEL__": built["platform.allows_channel"],
        "__ALLOWS_AUDIENCES__": built["platform.allows_audiences"],
        "__IN_WINDOW__": built["platform.in_window"],
    }


def rows_query(
    backend: Backend, timezone: str, hits: exp.Select, fields: set[str] | None = None
) -> exp.Query:
    """``hits`` (a query over ``facts``) with each row's record columns and ``members``."""
    facts = facts_query(backend, timezone, fields)
    rows = _parsed(ROWS_SQL)
    assert isinstance(rows, exp.Select)
    own = rows.args["with_"].expressions
    found = own[0].this
    assert isinstance(found, exp.Select)
    keys = ("record_key", "subject_key")
    columns = [
        *(c.alias_or_name for c in hits.expressions),
        *(c.alias_or_name for c in found.expressions if not c.is_star),
    ]
    star = rows.expressions[0]
    rows.set("expressions", [
        *(exp.column(c, table="f") for c in columns if c not in keys),
        *(e for e in rows.expressions if e is not star),
    ])
    rows.set("with_", facts.args["with_"])
    facts.set("with_", None)
    rows.with_("facts", as_=facts, copy=False).with_("hits", as_=hits, copy=False)
    for cte in own:
        rows.with_(cte.alias, as_=cte.this, copy=False)
    return rows


def _parsed(sql: str) -> exp.Expr:
    """A fresh syntax tree of one of the SQL texts above (each parsed once)."""
    return _parse(sql).copy()


@functools.cache
def _parse(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


def _without(query: exp.Expr, ctes: tuple[str, ...], column: str) -> exp.Expr:
    """The facts without some CTEs and their joins; ``column`` then reads false."""

    def prune(node: exp.Expr) -> exp.Expr | None:
        if isinstance(node, exp.CTE) and node.alias in ctes:
            return None
        if isinstance(node, exp.Join) and isinstance(node.this, exp.Table) \
                and node.this.name in ctes:
            return None
        if isinstance(node, exp.Alias) and node.alias == column:
            return exp.alias_(exp.false(), column)
        return node

    pruned = query.transform(prune, copy=False)
    assert pruned is not None
    return pruned


def fields_needed(windows: list[RuleWindow], world: World) -> set[str]:
    """The fields the rules read, less the optional ones this world can never make true
    (no guardian links: no guardian is copied; no staff guardian: no family), which
    then read false without their joins."""
    never = set()
    if not world.guardians:
        never.add("record.guardian_copied")
    if not world.family():
        never.add("subject.family")
    return fields_read(windows) - never
