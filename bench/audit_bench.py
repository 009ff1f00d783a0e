"""Audit benchmark: chaperone's DuckDB audit engine beside a hand-written query, Python and Spark.

Generates (seeded, so every run judges the same data) a district as ``World``
(~200,000 addresses of ~120,000 people, five platforms, guardian links) and N records
written straight into a lake (``records/month=YYYY-MM/*.parquet``) by DuckDB, then
measures, over the same lake and inputs:

a. ``duckdb_engine.run`` with the built-in 9052 pack's enabled rules; its first run in a
   child process, so the peak RSS (Linux VmHWM) is its own;
b. a hand-written DuckDB query of the two enabled §A rules (the practical limit), in a
   fresh connection; it must find the same (record_id, subject_id) pairs as (a). The
   runs of (a) and (b) alternate (``--runs`` of each, best taken): the load shifts;
c. ``judge.records.matched_rows`` over plain dicts, on the first ``--python-sample`` records
   (read outside the timing); it must agree with (a) on those records;
d. ``spark_engine.run`` on ``local[2]`` (the session, and so the JVM, started first and
   outside the timing), on the full lake or on the first ``--spark-sample`` records.

It prints rates, the ratios against the goals (PASS/MISS) and the peak RSS of (a), and
exits non-zero when an engine's findings differ from (a)'s. ``--explain`` adds DuckDB's
profile of both queries (operators by time). The machine is shared and noisy: read the
ratios, not the seconds.

    python bench/audit_bench.py [--records 10000000] [--accounts 200000]
                                [--python-sample 1000000] [--spark-sample N]
                                [--workdir DIR] [--runs 2] [--explain] [--no-spark]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chaperone.audit import duckdb_engine
from chaperone.audit.query import audit_query
from chaperone.judge.facts_sql import BACKENDS
from chaperone.judge.records import matched_rows
from chaperone.judge.rules import RuleWindow, rule_windows
from chaperone.judge.world import Party, PersonInfo, World, tables
from chaperone.lake.layout import LakeLayout
from chaperone.lake.schema import SCHEMA
from chaperone.lake.writer import connect
from chaperone.policy.loader import builtin
from chaperone.registry.models import Identifiers, Platform
from chaperone.settings import Settings

# The audit runs with the product's default memory limit, as `chaperone audit` does.
MEMORY_LIMIT = Settings().audit_memory_limit

HAND_GOAL = 0.8  # chaperone at least 0.8x the hand-written DuckDB query
PYTHON_GOAL = 5.0  # chaperone at least 5x the per-record Python loop
MEMORY_GOAL_MB = 4 * 1024  # chaperone's DuckDB audit under 4 GiB peak RSS

TIMEZONE = "America/New_York"
START = dt.date(2026, 3, 1)  # records span START .. START + DAYS (UTC)
DAYS = 184
DISTRICT = "district.k12.us"
STUDENTS = "students.district.k12.us"
UNKNOWN = 400_000  # addresses no one in the directory uses (newsletters, strangers)

# fmt: off
FIRST = (
    "dana", "ana", "luis", "maya", "omar", "priya", "chen", "sofia", "noah", "emma", "liam",
    "olivia", "ava", "mateo", "zoe", "ravi", "grace", "ethan", "leah", "jamal", "nina", "oscar",
)
LAST = (
    "ito", "garcia", "nguyen", "smith", "okafor", "patel", "kim", "rossi", "cohen", "silva",
    "brown", "lopez", "haddad", "novak", "jensen", "murphy", "tanaka", "dubois", "ortiz",
)
SCHOOLS = ("Hillcrest High", "Lakeview Middle", "Maple Elementary", "Oak Elementary")
MAIL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")
SUBJECTS = (
    "Field trip", "Permission slip", "Practice schedule", "Report card", "Homework",
    "Parent conference", "Bus route change", "Club meeting", "Re: grades", "Lunch menu",
)
# fmt: on

# The registry's platforms, dated so the six months of records cross Remind's expiry.
PLATFORMS = (
    Platform(
        id="parentsquare", name="ParentSquare", status="approved",
        channel_types=["email", "text_message", "voicemail", "image_sharing", "chat"],
        audiences=["staff-student", "staff-parent", "staff-staff"],
        identifiers=Identifiers(email_domains=["parentsquare.com"]),
        approved_on=dt.date(2023, 8, 1),
    ),
    Platform(
        id="remind", name="Remind", status="approved", channel_types=["text_message", "chat"],
        audiences=["staff-student", "staff-parent"],
        identifiers=Identifiers(email_domains=["remind.com"]),
        approved_on=dt.date(2022, 1, 15), expires_on=dt.date(2026, 8, 1),
    ),
    Platform(
        id="whatsapp", name="WhatsApp", status="denied", channel_types=["text_message", "chat"],
        audiences=["staff-parent"],
    ),
    Platform(
        id="classdojo", name="ClassDojo", status="pending", channel_types=["chat", "image_sharing"],
        audiences=["staff-parent"], identifiers=Identifiers(email_domains=["classdojo.com"]),
    ),
    Platform(
        id="slack", name="Slack", status="approved", channel_types=["chat"],
        audiences=["staff-staff"], identifiers=Identifiers(email_domains=["slack.com"]),
    ),
)


@dataclass(frozen=True)
class Scenario:
    """A kind of record: weight per 1000, channel, platform, and the pools its parties come from.

    Pools: SD/SP staff district/personal email, SDP/SPP staff district/personal phone,
    TD/TP student district/personal email, PE/PP parent email/phone, O vendors and
    volunteers, U/UP addresses unknown to the directory, PS/CD ParentSquare/ClassDojo
    addresses (found by the platforms' identifier domains).
    """

    name: str
    weight: int
    channel: str
    platform: str | None
    sender: str
    recipients: tuple[str, str, str]
    count: tuple[int, int]  # recipients, min..max


S = Scenario
# fmt: off
SCENARIOS = (
    # out of scope (no staff, or a staff member alone with strangers): 45%
    S("newsletter to staff", 100, "email", None, "U", ("SD", "SD", "SD"), (1, 1)),
    S("newsletter to staff personal", 20, "email", None, "U", ("SP", "SP", "SP"), (1, 1)),
    S("strangers", 100, "email", None, "U", ("U", "U", "U"), (1, 3)),
    S("student to students", 80, "email", None, "TD", ("TD", "TD", "TP"), (1, 3)),
    S("parents texting", 50, "text_message", None, "PP", ("PP", "UP", "PP"), (1, 2)),
    S("staff to vendor", 30, "email", None, "SD", ("O", "U", "O"), (1, 2)),
    S("student personal out", 40, "email", None, "TP", ("U", "TP", "U"), (1, 2)),
    S("parent email out", 30, "email", None, "PE", ("U", "PE", "U"), (1, 2)),
    # in scope and compliant: 50%
    S("district to students", 150, "email", None, "SD", ("TD", "TD", "TD"), (1, 3)),
    S("district to parents", 80, "email", None, "SD", ("PE", "PE", "PE"), (1, 3)),
    S("student to teacher", 60, "email", None, "TD", ("SD", "SD", "PE"), (1, 2)),
    S("parent to teacher", 50, "email", None, "PE", ("SD", "PE", "SD"), (1, 2)),
    S("staff to staff", 60, "email", None, "SD", ("SD", "SD", "SD"), (1, 3)),
    S("district phone to parent", 30, "text_message", None, "SDP", ("PP", "PP", "PP"), (1, 1)),
    S("parentsquare", 20, "email", "parentsquare", "SD", ("PE", "PE", "TD"), (1, 3)),
    S("parentsquare by domain", 15, "email", None, "SD", ("PS", "PE", "PE"), (2, 3)),
    S("remind (expires 2026-08-01)", 20, "text_message", "remind", "SD", ("TD", "PP", "PP"),
      (1, 3)),
    S("slack staff only", 15, "chat", "slack", "SD", ("SD", "SD", "SD"), (1, 3)),
    # violations of §A: 5%
    S("staff personal to student", 8, "email", None, "SP", ("TD", "TD", "PE"), (1, 3)),
    S("staff personal to parent", 4, "email", None, "SP", ("PE", "PE", "SD"), (1, 3)),
    S("district to student personal", 10, "email", None, "SD", ("TP", "TD", "TD"), (1, 3)),
    S("personal phone to parent", 8, "text_message", None, "SPP", ("PP", "PP", "PP"), (1, 1)),
    S("whatsapp (denied)", 5, "text_message", "whatsapp", "SDP", ("PP", "PP", "PP"), (1, 2)),
    S("classdojo (pending)", 5, "chat", "classdojo", "SD", ("PE", "PE", "PE"), (1, 3)),
    S("remind voicemail", 2, "voicemail", "remind", "SD", ("PP", "PP", "PP"), (1, 1)),
    S("slack with a student", 3, "chat", "slack", "SD", ("SD", "TD", "TD"), (2, 3)),
    S("unknown platform", 2, "chat", "telegram", "SD", ("PE", "PE", "TD"), (1, 2)),
    S("classdojo by domain", 3, "email", None, "SD", ("CD", "PE", "PE"), (2, 3)),
)
# fmt: on
assert sum(s.weight for s in SCENARIOS) == 1000


# ------------------------------------------------------------------------ the district


@dataclass
class District:
    """The audit inputs, and the address pools the record generator draws from."""

    inputs: World
    pools: dict[str, list[str]] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A digest of the accounts and guardians (the child process checks it rebuilt both)."""
        digest = hashlib.sha256()
        for address, parties in sorted(self.inputs.accounts.items()):
            digest.update(f"{address}|{parties}".encode())
        digest.update(repr(sorted(self.inputs.guardians)).encode())
        return digest.hexdigest()[:16]


def make_district(accounts: int, seed: int) -> District:
    """About ``accounts`` addresses of about 0.6 x ``accounts`` people, seeded."""
    rng = random.Random(seed)
    inputs = World(timezone=TIMEZONE)
    district = District(inputs, {name: [] for name in ("SD", "SP", "SDP", "SPP", "TD", "TP",
                                                       "PE", "PP", "O")})
    people = round(accounts * 0.6)
    phones = iter(range(1_000_000, 9_999_999, 7))

    def phone() -> str:
        number = next(phones)
        return f"+1{('914', '845', '646')[number % 3]}{number:07d}"

    def add(pool: str, address: str, person_id: str, population: str, owned: bool) -> None:
        inputs.accounts.setdefault(address, []).append(Party(person_id, population, owned))
        if len(inputs.accounts[address]) == 1:
            district.pools[pool].append(address)

    def person(person_id: str, population: str, role: str) -> tuple[str, str]:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        schools = tuple(rng.sample(SCHOOLS, 1 if population != "staff" else rng.randint(1, 2)))
        inputs.people[person_id] = PersonInfo(f"{first} {last}", population, role, schools)
        return first, last

    for n in range(round(people * 0.03)):
        pid = f"E{n:06d}"
        first, last = person(pid, "staff", rng.choice(("teacher", "teacher", "coach", "aide")))
        add("SD", f"{first}.{last}{n}@{DISTRICT}", pid, "staff", True)
        if rng.random() < 0.5:
            add("SDP", f"+1914552{n:04d}" if n < 10_000 else phone(), pid, "staff", True)
        if rng.random() < 0.4:
            add("SP", f"{first}{last}.{n}@{rng.choice(MAIL)}", pid, "staff", False)
        if rng.random() < 0.3:
            add("SPP", phone(), pid, "staff", False)
    students = []
    for n in range(round(people * 0.45)):
        pid = f"S{n:06d}"
        first, last = person(pid, "student", "student")
        students.append(pid)
        add("TD", f"{first[0]}{last}{n}@{STUDENTS}", pid, "student", True)
        if rng.random() < 0.6:
            add("TP", f"{first}.{last}.s{n}@{rng.choice(MAIL)}", pid, "student", False)
    families: list[list[str]] = []
    email = ""
    for n in range(round(people * 0.5)):
        pid = f"G{n:06d}"
        first, last = person(pid, "parent", "guardian")
        shared = bool(families) and len(families[-1]) == 1 and rng.random() < 0.6
        if shared:
            families[-1].append(pid)
        else:
            families.append([pid])
        if shared and rng.random() < 0.1:  # a couple sharing one e-mail address
            add("PE", email, pid, "parent", False)
        else:
            email = f"{first}.{last}.p{n}@{rng.choice(MAIL)}"
            add("PE", email, pid, "parent", False)
        if rng.random() < 0.7:
            add("PP", phone(), pid, "parent", False)
    for index, student in enumerate(students):
        family = families[index] if index < len(families) else rng.choice(families)
        inputs.guardians.update((guardian, student) for guardian in family)
    for n in range(people - len(inputs.people)):
        pid = f"V{n:06d}"
        population = rng.choice(("vendor", "volunteer", "contractor"))
        person(pid, population, population)
        add("O", f"contact{n}@vendor{n % 40}.example", pid, population, False)
    for item in PLATFORMS:
        inputs.platforms[item.id] = item
        for domain in item.identifiers.email_domains:
            inputs.platform_domains.setdefault(domain, item.id)
    district.pools["PS"] = [f"class-{k}@parentsquare.com" for k in range(500)]
    district.pools["CD"] = [f"room-{k}@classdojo.com" for k in range(200)]
    return district


# --------------------------------------------------------------------------- the lake


def write_lake(layout: LakeLayout, district: District, count: int, seed: int) -> None:
    """``count`` records into ``layout`` by one DuckDB COPY, partitioned by UTC day.

    Every random choice is a hash of the record's index and the seed (deterministic
    whatever the thread count). ``source_ref`` ends in ``#<index>``.
    """
    names = [n for n, addresses in district.pools.items() for _ in addresses]
    pool = pa.table({
        "pool": pa.array(names, pa.string()),
        "idx": pa.array([i for a in district.pools.values() for i in range(len(a))], pa.int64()),
        "address": pa.array([a for v in district.pools.values() for a in v], pa.string()),
    })
    sizes = {name: len(addresses) for name, addresses in district.pools.items()}
    sizes |= {"U": UNKNOWN, "UP": UNKNOWN // 4}
    low = 0
    rows = []
    for sid, s in enumerate(SCENARIOS):
        pools = (s.sender, *s.recipients)
        rows.append((sid, low, low + s.weight, s.channel, s.platform, *pools,
                     *(sizes[p] for p in pools), *s.count))
        low += s.weight
    scenario = pa.table(list(zip(*rows, strict=True)), names=[
        "sid", "lo", "hi", "channel", "platform", "s", "r1", "r2", "r3",
        "s_n", "r1_n", "r2_n", "r3_n", "rmin", "rmax"])
    layout.records.mkdir(parents=True, exist_ok=True)
    with connect() as db:
        db.register("pool_arrow", pool)
        db.register("scenario_arrow", scenario)
        db.execute(f"""
            CREATE TABLE pool AS SELECT * FROM pool_arrow
            UNION ALL SELECT 'U', i, 'someone' || i || '@mail' || (i % 37) || '.example'
                FROM range({UNKNOWN}) t(i)
            UNION ALL SELECT 'UP', i, '+1212' || (3000000 + i) FROM range({UNKNOWN // 4}) t(i);
            CREATE TABLE bucket AS SELECT b.range AS b, s.* FROM range(1000) b
                JOIN scenario_arrow s ON b.range >= s.lo AND b.range < s.hi;
        """)
        span = DAYS * 86_400 * 1_000_000
        subjects = "[" + ", ".join(f"'{s}'" for s in SUBJECTS) + "]"
        db.execute(f"""
            COPY (
                WITH g AS (
                    SELECT i, b.* FROM range({count}) t(i)
                    JOIN bucket b ON b.b = hash(i, {seed}, 0) % 1000
                ),
                r AS (
                    SELECT g.i, g.channel, g.platform, ps.address AS sender,
                        list_slice([p1.address, p2.address, p3.address], 1, g.rmin
                            + CAST(hash(g.i, {seed}, 5) % (g.rmax - g.rmin + 1) AS BIGINT))
                            AS recipients,
                        TIMESTAMPTZ '{START} 00:00:00+00'
                            + to_microseconds(CAST(hash(g.i, {seed}, 6) % {span} AS BIGINT))
                            AS occurred_at,
                        hash(g.i, {seed}, 7) % 10 = 0 AS has_media
                    FROM g
                    JOIN pool ps ON ps.pool = g.s
                        AND ps.idx = CAST(hash(g.i, {seed}, 1) % g.s_n AS BIGINT)
                    JOIN pool p1 ON p1.pool = g.r1
                        AND p1.idx = CAST(hash(g.i, {seed}, 2) % g.r1_n AS BIGINT)
                    JOIN pool p2 ON p2.pool = g.r2
                        AND p2.idx = CAST(hash(g.i, {seed}, 3) % g.r2_n AS BIGINT)
                    JOIN pool p3 ON p3.pool = g.r3
                        AND p3.idx = CAST(hash(g.i, {seed}, 4) % g.r3_n AS BIGINT)
                )
                SELECT md5('{seed}-' || i) AS record_id,
                       'bench-' || i || '@mail.{DISTRICT}' AS message_id,
                       occurred_at,
                       channel AS channel_type,
                       platform,
                       sender,
                       recipients,
                       {subjects}[1 + CAST(hash(i, {seed}, 8) % {len(SUBJECTS)} AS BIGINT)]
                           AS subject,
                       has_media,
                       CAST(CASE WHEN has_media THEN 1 ELSE 0 END AS INTEGER) AS attachment_count,
                       'jsonl' AS source_kind,
                       'bench.jsonl#' || i AS source_ref,
                       CAST([] AS VARCHAR[]) AS defects,
                       strftime(timezone('UTC', occurred_at), '%Y-%m') AS month
                FROM r
            ) TO '{layout.records}' (FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE)
        """)
    check_schema(layout)


def check_schema(layout: LakeLayout) -> None:
    """The generated files have the record schema of ``chaperone.ingest.record``."""
    first = next(layout.records.glob("*/*.parquet"))
    found = pq.read_schema(first)
    assert found.names == SCHEMA.names, found.names
    for name in SCHEMA.names:
        want, got = SCHEMA.field(name).type, found.field(name).type
        if pa.types.is_list(want):
            assert pa.types.is_list(got) and got.value_type == want.value_type, (name, got)
        else:
            assert got == want, (name, got, want)


def sample_lake(layout: LakeLayout, target: LakeLayout, count: int) -> None:
    """The first ``count`` generated records of ``layout`` as a lake of their own."""
    target.records.mkdir(parents=True, exist_ok=True)
    with connect() as db:
        db.execute(f"""
            COPY (SELECT * FROM read_parquet('{layout.record_glob()}', hive_partitioning = true)
                  WHERE {index_below(count)})
            TO '{target.records}' (FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE)
        """)


def index_below(count: int) -> str:
    """SQL: the record was among the first ``count`` generated."""
    return f"CAST(split_part(source_ref, '#', 2) AS BIGINT) < {count}"


def lake_stats(layout: LakeLayout) -> str:
    """Records, files, size, and how many records each part of the mix holds."""
    files = list(layout.records.glob("*/*.parquet"))
    size = sum(f.stat().st_size for f in files)
    with connect() as db:
        (count, platform_set, days) = db.execute(
            "SELECT count(*), count(platform), count(DISTINCT occurred_at::DATE) "
            f"FROM read_parquet('{layout.record_glob()}', hive_partitioning = true)"
        ).fetchone() or (0, 0, 0)
    return (
        f"{count:,} records in {len(files):,} files over {days} days, {size / 1e6:,.0f} MB; "
        f"{platform_set:,} with a platform id"
    )


# ----------------------------------------------------------------- the hand-written query

HAND_SQL = """
WITH party AS (      -- every address of a record, sender first
    SELECT record_id, unnest(list_prepend(sender, recipients)) AS address FROM records
),
person AS (          -- each directory person a record reaches; owned: all their addresses are
    SELECT record_id, person_id, population, bool_and(owned) AS owned
    FROM party JOIN accounts USING (address)
    GROUP BY record_id, person_id, population
),
scope AS (           -- in scope: a staff member and another staff, student or parent
    SELECT record_id,
           count(*) FILTER (WHERE population = 'staff') AS staff,
           bool_or(population = 'student') AS student,
           bool_or(population = 'parent') AS parent,
           coalesce(bool_and(owned) FILTER (WHERE population = 'staff'), TRUE) AS staff_owned,
           coalesce(bool_and(owned) FILTER (WHERE population = 'student'), TRUE) AS student_owned
    FROM person GROUP BY record_id
    HAVING staff >= 1 AND count(*) FILTER (WHERE population IN ('staff', 'student', 'parent')) >= 2
),
via AS (             -- the platform a record's addresses name (this registry: domains only)
    SELECT record_id, min(platform_id) AS platform_id
    FROM party JOIN platform_ids ON kind = 'domain' AND identifier = split_part(address, '@', 2)
    GROUP BY record_id
),
judged AS (
    SELECT s.*, coalesce(r.platform, v.platform_id) AS platform, r.channel_type,
           CAST(r.occurred_at AT TIME ZONE '__TZ__' AS DATE) AS day
    FROM scope AS s JOIN records AS r USING (record_id) LEFT JOIN via AS v USING (record_id)
)
SELECT j.record_id, p.person_id AS subject_id
FROM judged AS j
JOIN person AS p ON p.record_id = j.record_id AND p.population = 'staff'
LEFT JOIN platforms AS pl ON pl.platform_id = j.platform
WHERE CASE WHEN j.platform IS NULL    -- 9052-A-direct
           THEN NOT p.owned OR (j.staff_owned AND NOT j.student_owned)
           ELSE pl.status IS DISTINCT FROM 'approved'    -- 9052-A-platform
             OR NOT list_contains(pl.channel_types, j.channel_type)
             OR (j.student AND NOT list_contains(pl.audiences, 'staff-student'))
             OR (j.parent AND NOT list_contains(pl.audiences, 'staff-parent'))
             OR (j.staff >= 2 AND NOT list_contains(pl.audiences, 'staff-staff'))
             OR j.day < pl.approved_on OR j.day > pl.expires_on
      END
"""
# Both rules belong to the one pack version (in force since 2017-06-14, before every
# record), so the hand-written query leaves out the version term.


def hand_sql(inputs: World) -> str:
    """The hand-written query for the district's time zone (domain identifiers only)."""
    assert not inputs.platform_addresses and not inputs.platform_prefixes, "domains only"
    return HAND_SQL.replace("__TZ__", inputs.timezone)


def hand_written(layout: LakeLayout, arrow: dict[str, pa.Table], sql: str) -> list[tuple[str, str]]:
    """The hand-written query in a fresh connection over the lake and the input tables."""
    with connect() as db:
        for name, table in arrow.items():
            db.register(name, table)
        duckdb_engine.records_view(db, layout, None, None)
        return db.execute(sql).fetchall()


# ------------------------------------------------------------------------------ measuring


@dataclass(frozen=True)
class Rate:
    """How many records one measurement judged in how many seconds."""

    name: str
    items: int
    seconds: float
    note: str = ""

    @property
    def per_second(self) -> float:
        """Records per second."""
        return self.items / self.seconds

    def show(self) -> None:
        """One line of the report."""
        print(
            f"  {self.name:<34} {self.items:>11,} rec {self.seconds:>8.2f} s "
            f"{self.per_second:>12,.0f} rec/s  {self.note}".rstrip()
        )


def timed(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The best wall time of ``runs`` calls, and what the last call returned."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB.

    Linux's VmHWM, the high-water mark of this program's own memory: ``ru_maxrss``
    would also count the parent's size at the fork that started a child process.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def pairs(rows: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    """(record_id, subject_id) of facts rows."""
    return {(row["record_id"], row["subject_id"]) for row in rows}


def flagged(rows: Iterable[dict[str, Any]], windows: list[RuleWindow]) -> set[tuple[str, ...]]:
    """(record_id, subject_id, rule id) of every rule that matched each facts row."""
    return {
        (row["record_id"], row["subject_id"], w.rule.id)
        for row in rows
        for w in windows
        if row[w.column]
    }


def agreement(name: str, found: set[Any], expected: set[Any]) -> bool:
    """Print whether two sets of findings agree (and a few differences when not)."""
    if found == expected:
        print(f"    {name}: AGREE ({len(found):,} pairs)")
        return True
    print(
        f"    {name}: DISAGREE ({len(found):,} vs {len(expected):,}; only here "
        f"{sorted(found - expected)[:3]}, only in chaperone {sorted(expected - found)[:3]})"
    )
    return False


def chaperone_child(args: argparse.Namespace) -> None:
    """(a) in this process: rebuild the inputs, run the engine, report timings and peak RSS."""
    district = make_district(args.accounts, args.seed)
    assert district.fingerprint() == args.child, "the child built a different district"
    layout = LakeLayout(args.workdir / "lake")
    windows = rule_windows(builtin())
    before = peak_rss_mb()
    start = time.perf_counter()
    rows = duckdb_engine.run(layout, district.inputs, windows, memory_limit=MEMORY_LIMIT)
    seconds = time.perf_counter() - start
    found = sorted(flagged(rows, windows))
    pq.write_table(
        pa.table(list(zip(*found, strict=True)) if found else [[], [], []],
                 names=["record_id", "subject_id", "rule_id"]),
        args.workdir / "chaperone-matches.parquet",
    )
    report = {"seconds": seconds, "rows": len(rows), "rss_before_mb": before,
              "peak_mb": peak_rss_mb()}
    print(json.dumps(report))


def chaperone_in_child(args: argparse.Namespace,
                       district: District) -> tuple[dict[str, Any], set[Any]]:
    """(a) once in a child process (its peak RSS is its own); its findings as rule triples."""
    command = [sys.executable, __file__, "--child", district.fingerprint(), "--workdir",
               str(args.workdir), "--accounts", str(args.accounts), "--seed", str(args.seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the chaperone child failed:\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    table = pq.read_table(args.workdir / "chaperone-matches.parquet")
    triples = set(zip(*(table.column(n).to_pylist() for n in table.column_names), strict=True))
    return report, triples


def measure_duckdb(args: argparse.Namespace, layout: LakeLayout, district: District,
                   windows: list[RuleWindow]) -> tuple[Rate, Rate, dict[str, Any], bool]:
    """(a) and (b), ``--runs`` times each, interleaved (the machine's load shifts); best of each.

    The first run of (a) is in a child process, for its own peak RSS.
    """
    inputs = district.inputs
    child, triples = chaperone_in_child(args, district)
    ours = [child["seconds"]]
    print(f"    chaperone run 1 (child process): {ours[0]:.2f} s, {child['rows']:,} matched rows;"
          f" peak RSS of the process {child['peak_mb']:,.0f} MB, of which "
          f"{child['rss_before_mb']:,.0f} MB before the audit (interpreter + inputs)")
    expected = {(r, s) for r, s, _rule in triples}
    by_rule = {w.rule.id: sum(t[2] == w.rule.id for t in triples) for w in windows}
    print(f"    {len(expected):,} (record, subject) pairs; by rule {by_rule}")
    start = time.perf_counter()
    arrow = tables(inputs)
    print(f"    the inputs as Arrow tables take {time.perf_counter() - start:.2f} s (inside "
          "chaperone's run; made once, outside the timing, for the hand-written query)")
    sql = hand_sql(inputs)
    theirs: list[float] = []
    found: list[tuple[str, str]] = []
    same = True
    for attempt in range(1, args.runs + 1):
        seconds, found = timed(1, lambda: hand_written(layout, arrow, sql))
        theirs.append(seconds)
        print(f"    hand-written run {attempt}: {seconds:.2f} s, {len(found):,} rows")
        if attempt < args.runs:
            seconds, rows = timed(
                1, lambda: duckdb_engine.run(layout, inputs, windows, memory_limit=MEMORY_LIMIT)
            )
            ours.append(seconds)
            same = same and flagged(rows, windows) == triples
            print(f"    chaperone run {attempt + 1}: {seconds:.2f} s, {len(rows):,} matched rows")
            del rows
    chaperone = Rate("chaperone duckdb_engine.run", args.records, min(ours),
                     f"({child['rows']:,} matched rows; best of {len(ours)})")
    hand = Rate("hand-written DuckDB query", args.records, min(theirs),
                f"({len(found):,} rows; best of {len(theirs)})")
    chaperone.show()
    hand.show()
    if not same:
        print("    chaperone's runs in this process found other rows than its child's: DISAGREE")
    agree = same and agreement("hand-written vs chaperone", set(found), expected)
    child["triples"] = triples
    return chaperone, hand, child, agree


def measure_python(args: argparse.Namespace, layout: LakeLayout, district: District,
                   windows: list[RuleWindow]) -> tuple[Rate, set[Any]]:
    """(c) the per-record Python engine over dicts of the first --python-sample records."""
    count = min(args.python_sample, args.records)
    with connect() as db:
        records = db.sql(
            f"SELECT * EXCLUDE (month) FROM read_parquet('{layout.record_glob()}', "
            f"hive_partitioning = true) WHERE {index_below(count)}"
        ).to_arrow_table().to_pylist()
    seconds, rows = timed(1, lambda: matched_rows(records, district.inputs, windows))
    rate = Rate("judge.records.matched_rows over dicts", len(records), seconds,
                f"({len(rows):,} matched rows)")
    return rate, flagged(rows, windows)


def measure_spark(args: argparse.Namespace, layout: LakeLayout, district: District,
                  windows: list[RuleWindow]) -> tuple[Rate, set[Any], int]:
    """(d) the Spark engine on local[2]; the session is started (and warmed) untimed."""
    from chaperone.audit import spark_engine

    count = args.records
    if args.spark_sample and args.spark_sample < args.records:
        count = args.spark_sample
        target = LakeLayout(args.workdir / "spark-lake")
        shutil.rmtree(target.root, ignore_errors=True)
        sample_lake(layout, target, count)
        layout = target
    os.environ.setdefault(  # before the JVM starts; no progress bars in the report
        "PYSPARK_SUBMIT_ARGS",
        f"--driver-memory {args.spark_memory} --conf spark.ui.showConsoleProgress=false "
        "pyspark-shell",
    )
    start = time.perf_counter()
    spark = spark_engine.session("local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1000).selectExpr("sum(id)").collect()  # class loading, not the audit
    startup = time.perf_counter() - start
    seconds, rows = timed(1, lambda: spark_engine.run(layout, district.inputs, windows,
                                                      master="local[2]"))
    spark.stop()
    rate = Rate("spark_engine.run local[2]", count, seconds,
                f"({len(rows):,} matched rows; JVM start {startup:.1f} s not counted; "
                f"driver memory {args.spark_memory})")
    return rate, flagged(rows, windows), count


def explain(layout: LakeLayout, district: District, windows: list[RuleWindow],
            workdir: Path, top: int = 12) -> None:
    """Where each DuckDB query spends its time: operators by time (EXPLAIN ANALYZE, JSON)."""
    inputs = district.inputs
    queries = {
        "chaperone audit query": audit_query(BACKENDS["duckdb"], inputs.timezone, windows).sql(
            dialect="duckdb"),
        "hand-written query": hand_sql(inputs),
    }
    arrow = tables(inputs)
    for name, sql in queries.items():
        output = workdir / f"profile-{name.split()[0]}.json"
        with connect() as db:
            for table, data in arrow.items():
                db.register(table, data)
            duckdb_engine.records_view(db, layout, None, None)
            start = time.perf_counter()
            count = len(db.sql(sql).to_arrow_table())
            bare = time.perf_counter() - start
            db.execute("PRAGMA enable_profiling = 'json'")
            db.execute(f"PRAGMA profiling_output = '{output}'")
            db.execute(sql).fetchall()
            db.execute("PRAGMA disable_profiling")
        profile = json.loads(output.read_text())
        operators: list[tuple[str, dict[str, Any]]] = []
        for root in profile.get("operator", profile.get("children", [])):
            walk(root, "main", operators)
        total = sum(_timing(op) for _cte, op in operators)
        system = profile.get("system", {})
        print(f"\n  {name}: {count:,} rows; bare query (Arrow result) {bare:.2f} s; operator "
              f"time {total:.2f} s (2 threads); peak buffer memory "
              f"{system.get('peak_buffer_memory', 0) / 2**20:,.0f} MB")
        print(f"    {'operator':<16} {'in CTE':<16} {'time s':>7} {'share':>6} {'rows out':>11}"
              "  detail")
        for cte, op in sorted(operators, key=lambda o: -_timing(o[1]))[:top]:
            info = {k: v for k, v in op.get("extra_info", {}).items()
                    if k in ("Join Type", "Conditions", "Groups", "Aggregates", "CTE Name",
                             "Function", "Projections")}
            detail = " ".join(f"{k}={v}" for k, v in info.items()).replace("\n", " ")
            rows = op.get("intermediate_rows", op.get("operator_cardinality", 0))
            print(f"    {op.get('name', op.get('operator_name', '?')).strip():<16} {cte:<16} "
                  f"{_timing(op):>7.2f} {_timing(op) / total:>6.1%} {rows:>11,}  {detail[:110]}")


def _timing(operator: dict[str, Any]) -> float:
    return float(operator.get("timing", operator.get("operator_timing", 0.0)))


def walk(node: dict[str, Any], cte: str, into: list[tuple[str, dict[str, Any]]]) -> None:
    """Every operator of a DuckDB JSON profile, with the CTE whose definition holds it."""
    into.append((cte, node))
    children = node.get("children", [])
    for index, child in enumerate(children):
        name = node.get("extra_info", {}).get("CTE Name") if node.get("name") == "CTE" else None
        walk(child, name if name and index == 0 else cte, into)


# ---------------------------------------------------------------------------- runs


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--records", type=int, default=10_000_000, help="records in the lake")
    parser.add_argument("--accounts", type=int, default=200_000, help="directory addresses")
    parser.add_argument("--python-sample", type=int, default=1_000_000,
                        help="time the Python engine on the first K records")
    parser.add_argument("--spark-sample", type=int, default=0,
                        help="time Spark on a lake of the first K records (default: all)")
    parser.add_argument("--no-spark", action="store_true", help="leave Spark out")
    parser.add_argument("--spark-memory", default="4g", help="Spark driver memory (local mode)")
    parser.add_argument("--runs", type=int, default=2,
                        help="DuckDB: best of this many runs of each query (interleaved)")
    parser.add_argument("--workdir", type=Path, help="keep the lake and profiles here")
    parser.add_argument("--seed", type=int, default=9052)
    parser.add_argument("--explain", action="store_true",
                        help="also profile both DuckDB queries (operators by time)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # (a) in its own process
    return parser.parse_args(argv)


def versions() -> str:
    """Python and the versions of the libraries measured."""
    found = ", ".join(f"{n} {version(n)}" for n in ("duckdb", "pyarrow", "pyspark"))
    return f"Python {platform.python_version()}, {found}, {os.cpu_count()} CPUs"


def verdict(ratio: float, goal: float) -> str:
    """PASS or MISS against a goal ratio."""
    return f"goal >= {goal:g}x  {'PASS' if ratio >= goal else 'MISS'}"


def main(argv: Sequence[str] | None = None) -> None:
    """Generate the district and the lake, measure, print the summary."""
    args = arguments(argv)
    if args.child:
        chaperone_child(args)
        return
    keep = args.workdir is not None
    args.workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="chaperone-audit-bench-"))
                    ).resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    print(f"chaperone audit benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {versions()}")
    try:
        run(args)
    finally:
        if not keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    print(f"\nwhole run {(time.perf_counter() - began) / 60:.1f} min")


def run(args: argparse.Namespace) -> None:
    """The measurements and the summary."""
    start = time.perf_counter()
    district = make_district(args.accounts, args.seed)
    inputs = district.inputs
    populations: dict[str, int] = {}
    for info in inputs.people.values():
        populations[info.population] = populations.get(info.population, 0) + 1
    shared = sum(len(p) > 1 for p in inputs.accounts.values())
    print(f"district in {time.perf_counter() - start:.1f} s (seed {args.seed}): "
          f"{len(inputs.accounts):,} addresses ({shared:,} shared) of {len(inputs.people):,} "
          f"people {populations}, {len(inputs.guardians):,} guardian links, "
          f"{len(inputs.platforms)} platforms")
    layout = LakeLayout(args.workdir / "lake")
    shutil.rmtree(layout.root, ignore_errors=True)
    start = time.perf_counter()
    write_lake(layout, district, args.records, args.seed)
    print(f"lake in {time.perf_counter() - start:.1f} s ({args.workdir}): {lake_stats(layout)}")
    windows = rule_windows(builtin())
    print(f"rules: {', '.join(f'{w.rule.id} ({w.pack.spec.version})' for w in windows)}")

    print(f"\nDuckDB, whole lake ({args.runs} runs each, interleaved; generation outside the "
          "timing)")
    chaperone, hand, child, agreed = measure_duckdb(args, layout, district, windows)
    triples = child["triples"]
    agree = {"hand-written": agreed}

    print("\nPython, per record over dicts (reading the records outside the timing)")
    python, python_found = measure_python(args, layout, district, windows)
    python.show()
    with connect() as db:
        ids = {r for (r,) in db.execute(
            f"SELECT record_id FROM read_parquet('{layout.record_glob()}') "
            f"WHERE {index_below(python.items)}").fetchall()}
    agree["python"] = agreement("python vs chaperone on those records (with rule ids)",
                                python_found, {t for t in triples if t[0] in ids})

    spark: Rate | None = None
    if not args.no_spark:
        print("\nSpark local[2]")
        spark, spark_found, count = measure_spark(args, layout, district, windows)
        spark.show()
        if count < args.records:
            with connect() as db:
                ids = {r for (r,) in db.execute(
                    f"SELECT record_id FROM read_parquet('{layout.record_glob()}') "
                    f"WHERE {index_below(count)}").fetchall()}
            wanted = {t for t in triples if t[0] in ids}
        else:
            wanted = triples
        agree["spark"] = agreement("spark vs chaperone (with rule ids)", spark_found, wanted)

    if args.explain:
        print("\nEXPLAIN ANALYZE (DuckDB JSON profile), top operators by time")
        explain(layout, district, windows, args.workdir)

    ours = chaperone.per_second
    print(f"\nsummary ({args.records:,} records; rates measured in this run)")
    lines = [
        ("chaperone DuckDB / hand-written DuckDB", ours / hand.per_second, HAND_GOAL),
        ("chaperone DuckDB / Python loop", ours / python.per_second, PYTHON_GOAL),
    ]
    if spark is not None:
        lines.append(("chaperone DuckDB / Spark local[2]", ours / spark.per_second, None))
    for name, ratio, goal in lines:
        print(f"  {name:<40} {ratio:>7.2f}x  {verdict(ratio, goal) if goal else '(reference)'}")
    peak = child["peak_mb"]
    print(f"  {'peak RSS of the chaperone DuckDB run':<40} {peak:>7,.0f} MB  goal < "
          f"{MEMORY_GOAL_MB:,} MB  {'PASS' if peak < MEMORY_GOAL_MB else 'MISS'}")
    print("  findings agree with chaperone's: " + ", ".join(
        f"{k} {'yes' if v else 'NO'}" for k, v in agree.items()))
    if python.items < args.records:
        print(f"  (the Python loop was timed on the first {python.items:,} records)")
    if spark is not None and spark.items < args.records:
        print(f"  (Spark was timed on a lake of the first {spark.items:,} records)")
    print(f"  peak RSS of this process {peak_rss_mb():,.0f} MB")
    if not all(agree.values()):
        sys.exit("the engines disagree (see above)")


if __name__ == "__main__":
    main()
