"""Random directories, registries and records: the SQL and Python paths of the judge agree,
finding for finding and verdict for verdict (branch, failed check, alternative)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaperone.audit import duckdb_engine, findings
from chaperone.grants.service import Grant
from chaperone.judge import approval
from chaperone.judge.facts import FactsIndex, record_facts
from chaperone.judge.records import matched_rows
from chaperone.judge.rules import rule_windows
from chaperone.judge.world import Party, PersonInfo, World
from chaperone.lake.schema import CHANNEL_TYPES, Record, stable_id, to_table
from chaperone.lake.writer import LakeWriter, lake_path
from chaperone.policy.loader import builtin, parse
from chaperone.registry.models import Platform

ADDRESSES = [f"a{i}@x.org" for i in range(8)] + [
    "+19145550100", "+19145550101", "z@p1.com", '"z@p.com"@x.org', '"z@x.org"@p.com']
POPULATIONS = ["staff", "student", "parent", "vendor"]
PLATFORM_IDS = ["p1", "p2", "p3"]


def all_rules_pack() -> list:  # type: ignore[type-arg]
    text = builtin()[0].text.replace("enabled: false", "enabled: true")
    later = text.replace('version: "2017.1"', 'version: "2026.1"').replace(
        "effective_on: 2017-06-14", "effective_on: 2026-09-01").replace("severity: high", "severity: critical")
    return [parse(text, source="a.yaml"), parse(later, source="b.yaml")]


WINDOWS = rule_windows(all_rules_pack())

platforms = st.builds(
    lambda pid, status, channels, audiences, start, days: Platform(
        id=pid, name=pid.upper(), status=status, channel_types=channels, audiences=audiences,
        approved_on=start,
        expires_on=None if days is None
        else (start or dt.date(2026, 8, 20)) + dt.timedelta(days=days)),
    st.sampled_from(PLATFORM_IDS),
    st.sampled_from(["approved", "approved", "approved", "pending", "denied"]),
    st.lists(st.sampled_from(CHANNEL_TYPES), unique=True, max_size=4),
    st.lists(st.sampled_from(["staff-student", "staff-parent", "staff-staff"]), unique=True),
    st.none() | st.dates(dt.date(2026, 8, 1), dt.date(2026, 9, 30)),
    st.none() | st.integers(0, 40),
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    inputs = World(timezone=draw(st.sampled_from(["America/New_York", "UTC", "Asia/Tokyo"])))
    people = {f"U{i}": draw(st.sampled_from(POPULATIONS)) for i in range(6)}
    for person_id, population in people.items():
        inputs.people[person_id] = PersonInfo(person_id, population, population, ("HS",))
    for address in ADDRESSES:
        owners = draw(st.lists(st.sampled_from(sorted(people)), unique=True, max_size=2))
        parties = [Party(p, people[p], draw(st.booleans())) for p in sorted(owners)]
        if parties:
            inputs.accounts[address] = parties
    inputs.guardians = set(draw(st.lists(st.tuples(st.sampled_from(sorted(people)),
                                                   st.sampled_from(sorted(people))), max_size=4)))
    for platform in draw(st.lists(platforms, max_size=3, unique_by=lambda p: p.id)):
        inputs.platforms[platform.id] = platform
    if "p1" in inputs.platforms:
        inputs.platform_domains["p.com"] = "p1"
    inputs.platform_prefixes = [("+1914555010", "p2")] if draw(st.booleans()) else []
    if draw(st.booleans()):  # a number both by itself and by a prefix: the least platform
        inputs.platform_addresses["+19145550101"] = draw(st.sampled_from(["p1", "p3"]))
    staff = sorted(p for p, population in people.items() if population == "staff")
    inputs.exceptions = [
        Grant(i, draw(st.sampled_from(staff)), draw(st.none() | st.sampled_from(sorted(people))),
              draw(st.none() | st.sampled_from(["staff", "student", "parent"])),
              frozenset(draw(st.sampled_from([[], ["email"], ["text_message"]]))),
              draw(st.none() | st.sampled_from(["9052-A-platform", "9052-A-direct"])),
              dt.date(2026, 8, 20), dt.date(2026, 9, 5))
        for i in range(draw(st.integers(0, 2)) if staff else 0)
    ]
    return inputs


records = st.builds(
    lambda n, when, channel, platform, sender, recipients, media: Record(
        record_id=stable_id("t", str(n)), message_id=str(n), occurred_at=when, channel_type=channel,
        platform=platform, sender=sender, recipients=tuple(recipients), subject=None,
        has_media=media, attachment_count=0, source_kind="jsonl", source_ref=f"t#{n}"),
    st.integers(0, 10**9),
    st.datetimes(dt.datetime(2026, 8, 25), dt.datetime(2026, 9, 10), timezones=st.just(dt.UTC)),
    st.sampled_from(CHANNEL_TYPES), st.none() | st.sampled_from([*PLATFORM_IDS, "zz"]),
    st.sampled_from(ADDRESSES), st.lists(st.sampled_from(ADDRESSES), max_size=4), st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds(), batch=st.lists(records, min_size=1, max_size=25, unique_by=lambda r: r.record_id))
def test_sql_and_python_find_the_same(world: World, batch: list[Record]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        layout = lake_path(Path(folder))
        with layout.lock():
            writer = LakeWriter(layout, "t")
            writer.write_records(to_table(batch))
            writer.close()
        sql_rows = duckdb_engine.run(layout, world, WINDOWS)
    python_rows = matched_rows([vars(r) for r in batch], world, WINDOWS)
    by_sql = findings.build(WINDOWS, sql_rows, world)
    by_python = findings.build(WINDOWS, python_rows, world)
    assert [(f.finding_id, f.rule_id, f.policy_version, f.counterpart_person_ids, f.verdict)
            for f in by_sql] == [
           (f.finding_id, f.rule_id, f.policy_version, f.counterpart_person_ids, f.verdict)
            for f in by_python]
    for found in by_sql:  # a suggestion is always approved for exactly that communication
        verdict = found.verdict
        if verdict.alternative is not None:
            audiences = {"staff-student" for _p, pop in verdict.counterparts if pop == "student"}
            row = next(r for r in sql_rows if r["record_id"] == found.record_id
                       and r["subject_id"] == found.subject_person_id)
            needed = approval.audiences_of(row, columns=True)
            assert audiences <= needed
            assert approval.approve(world.platforms[verdict.alternative],
                                    verdict.channel_type, needed, found.local_date).approved


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds(), batch=st.lists(records, min_size=1, max_size=10))
def test_the_indexed_path_is_the_plain_one(world: World, batch: list[Record]) -> None:
    index = FactsIndex(world)
    for record in map(vars, batch):
        rows = record_facts(record, world, index)
        assert rows == record_facts(record, world)
        assert all(row["record.several_staff"] == (
            sum(1 for r in rows if r["subject.population"] == "staff") >= 2) for row in rows)
