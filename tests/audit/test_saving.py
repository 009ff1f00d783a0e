"""Saving findings: upserted by id, withdrawn when no longer found, only within the window."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from chaperone.audit import findings
from chaperone.audit.findings import BATCH, NewFinding, save
from chaperone.judge.verdicts import Verdict
from chaperone.store.db import Store
from chaperone.store.models import Finding

RULES = {"9052-A-direct"}


def verdict(failed: str) -> Verdict:
    return Verdict(rule_id="9052-A-direct", policy_version="2017.1", branch="platform",
                   channel_type="email", platform="p1", subject="T1", subject_population="staff",
                   subject_is_sender=True, subject_account="district",
                   counterparts=(("S1", "student"), ("P1", "parent")),
                   student_accounts="district", account_kind="email", failed=failed)


def finding(n: int, day: dt.date, failed: str = "status") -> NewFinding:
    return NewFinding(
        finding_id=f"f{n}", rule_id="9052-A-direct", citation="9052 §A", policy_version="2017.1",
        severity="high", occurred_at=dt.datetime.combine(day, dt.time(13), dt.UTC),
        local_date=day, channel_type="email", platform=None, message_id=f"m{n}",
        record_id=f"r{n}", source_ref=f"t#{n}", sender="t1@d.us", recipients=("a@x", "b@x"),
        subject_person_id="T1", counterpart_person_ids=("S1", "P1"), school="HS",
        verdict=verdict(failed),
    )


def stored(store: Store) -> dict[str, tuple[bool, str, str, str]]:
    with store.transaction() as session:
        return {
            f.finding_id: (f.active, str(Verdict.from_json(f.verdict).failed), f.recipients,
                           f.counterpart_person_ids)
            for f in session.scalars(select(Finding))
        }


def audit(store: Store, found: list[NewFinding], since: dt.date | None = None,
          until: dt.date | None = None) -> tuple[int, int, int]:
    saved = save(store, found, rule_ids=RULES, since=since, until=until)
    return saved.total, saved.added, saved.withdrawn


@pytest.mark.store
def test_findings_are_upserted_withdrawn_and_found_again(store: Store) -> None:
    monday, tuesday = dt.date(2026, 9, 14), dt.date(2026, 9, 15)
    one, two = finding(1, monday), finding(2, tuesday)
    assert audit(store, [one, two]) == (2, 2, 0)
    assert stored(store)["f1"] == (True, "status", "a@x;b@x", "S1;P1")
    changed = dataclasses.replace(one, verdict=verdict("channel"))
    assert audit(store, [changed]) == (1, 0, 1)
    assert stored(store) == {"f1": (True, "channel", "a@x;b@x", "S1;P1"),
                             "f2": (False, "status", "a@x;b@x", "S1;P1")}
    assert audit(store, [changed, two]) == (2, 0, 0)
    assert all(active for active, *_rest in stored(store).values())


@pytest.mark.store
def test_only_findings_in_the_audited_window_are_withdrawn(store: Store) -> None:
    days = [dt.date(2026, 9, 14) + dt.timedelta(days=n) for n in range(3)]
    audit(store, [finding(n, day) for n, day in enumerate(days)])
    assert audit(store, [], since=days[1], until=days[1]) == (0, 0, 1)
    assert {k: v[0] for k, v in stored(store).items()} == {"f0": True, "f1": False, "f2": True}


@pytest.mark.store
def test_many_findings_are_saved_in_batches(store: Store) -> None:
    many = [finding(n, dt.date(2026, 9, 14)) for n in range(12_001)]
    assert audit(store, many) == (12_001, 12_001, 0)
    assert audit(store, many[1:]) == (12_000, 0, 1)
    assert sum(active for active, *_rest in stored(store).values()) == 12_000


@pytest.mark.store
def test_a_save_stopped_half_way_keeps_its_batches_and_completes_when_run_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = [finding(n, dt.date(2026, 9, 14)) for n in range(2 * BATCH + 500)]
    real, done = findings._upsert, list[int]()

    def stopping(*args: Any) -> int:
        if len(done) == 2:
            raise OSError("No space left on device")
        done.append(1)
        return real(*args)

    monkeypatch.setattr(findings, "_upsert", stopping)
    with pytest.raises(OSError):
        audit(store, many)
    assert len(stored(store)) == 2 * BATCH  # each batch committed on its own
    monkeypatch.undo()
    assert audit(store, many) == (2 * BATCH + 500, 500, 0)
    assert audit(store, many) == (2 * BATCH + 500, 0, 0)
