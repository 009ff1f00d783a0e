"""Policy 9052's family rule: a teacher writing to their own child (or the child's other
parent) is family, not staff communication; anyone else on the message and it is judged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from chaperone.audit import duckdb_engine, findings
from chaperone.judge.records import matched_rows
from chaperone.judge.rules import rule_windows
from chaperone.judge.world import Party, PersonInfo, World
from chaperone.lake.schema import Record, stable_id, to_table
from chaperone.lake.writer import LakeWriter, lake_path
from chaperone.policy.loader import builtin, parse

WHEN = dt.datetime(2026, 9, 14, 23, tzinfo=dt.UTC)
PHONES = {"T1": "+19145550101", "T2": "+19145550102", "S1": "+19145550103",
          "S2": "+19145550104", "P1": "+19145550105"}


def world() -> World:
    """T1 teaches and is S1's parent, with P1; S2 is another student; T2 a colleague.
    Every phone is personal."""
    inputs = World(timezone="America/New_York", district_domains=["district.k12.us"])
    for person_id, population in (("T1", "staff"), ("T2", "staff"), ("S1", "student"),
                                  ("S2", "student"), ("P1", "parent")):
        inputs.people[person_id] = PersonInfo(person_id, population, population, ("HS",))
        inputs.accounts[PHONES[person_id]] = [Party(person_id, population, False)]
    inputs.guardians = {("T1", "S1"), ("P1", "S1")}
    return inputs


def record(n: int, sender: str, *recipients: str) -> Record:
    return Record(record_id=stable_id("t", str(n)), message_id=str(n), occurred_at=WHEN,
                  channel_type="text_message", platform=None, sender=PHONES[sender],
                  recipients=tuple(PHONES[r] for r in recipients), subject=None,
                  has_media=False, attachment_count=0, source_kind="sms-csv",
                  source_ref=f"t#{n}")


RECORDS = [record(1, "T1", "S1"), record(2, "S1", "T1"), record(3, "T1", "P1"),
           record(4, "T1", "S1", "P1"), record(5, "T1", "S1", "S2"), record(6, "T1", "S2"),
           record(7, "T1", "S1", "T2")]
FAMILY_OFF = builtin()[0].text.replace(
    "    effect: exempt\n", "    effect: exempt\n    enabled: false\n")


def found(windows: list, folder: Path | None) -> dict[str, set[str]]:  # type: ignore[type-arg]
    inputs = world()
    if folder is None:
        rows = matched_rows([vars(r) for r in RECORDS], inputs, windows)
    else:
        layout = lake_path(folder)
        with layout.lock():
            writer = LakeWriter(layout, "t")
            writer.write_records(to_table(RECORDS))
            writer.close()
        rows = duckdb_engine.run(layout, inputs, windows)
    by: dict[str, set[str]] = {}
    for f in findings.build(windows, rows, inputs):
        by.setdefault(str(f.message_id), set()).add(f.subject_person_id)
    return by


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_family_messages_are_exempt_and_anyone_else_is_judged(engine: str,
                                                              tmp_path: Path) -> None:
    by = found(rule_windows(builtin()), None if engine == "python" else tmp_path)
    assert by == {"5": {"T1"}, "6": {"T1"}, "7": {"T1", "T2"}}


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_district_can_switch_the_family_rule_off(engine: str, tmp_path: Path) -> None:
    windows = rule_windows([parse(FAMILY_OFF, source="9052.yaml")])
    by = found(windows, None if engine == "python" else tmp_path)
    assert by == {"1": {"T1"}, "2": {"T1"}, "3": {"T1"}, "4": {"T1"}, "5": {"T1"},
                  "6": {"T1"}, "7": {"T1", "T2"}}
