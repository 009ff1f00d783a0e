"""Decision records: grouped per message, spooled whole, published once, never in the way."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from chaperone.gateway import journal as journal_module
from chaperone.gateway.decide import Decision
from chaperone.gateway.journal import DecisionJournal, JournalSettings, decision_table
from chaperone.gateway.protocol import PolicyRequest
from chaperone.lake import decisions
from chaperone.lake.layout import LakeBusy, LakeLayout
from chaperone.lake.writer import connect

REJECT = Decision("REJECT", "9052-A-direct", "Policy 9052 §A: …")
HOLD = Decision("HOLD", "9052-A-platform", "Policy 9052 §A: held")
WARN = Decision("WARN", "9052-A-direct", "Policy 9052 §A: warned")
DUNNO = Decision("DUNNO")
WOULD_REJECT = Decision("DUNNO", "9052-A-direct", "monitor: would REJECT: …", intended="REJECT")


def request(recipient: str, *, instance: str = "i1", state: str = "RCPT",
            sender: str = "T1Home@Gmail.com") -> PolicyRequest:
    return PolicyRequest(state=state, sender=sender, recipient=recipient, instance=instance,
                         recipient_count=0, queue_id="4F2A1B" if state != "RCPT" else "",
                         client_address="10.20.0.7", client_name="ws007.district.k12.us",
                         sasl_username="")


@pytest.fixture
def layout(tmp_path: Path) -> LakeLayout:
    return LakeLayout(tmp_path / "lake")


def rows(journal: DecisionJournal, *, everything: bool = True) -> list[dict[str, object]]:
    return list(decision_table(journal.take(everything=everything)).to_pylist())


def lake_rows(layout: LakeLayout, table: str) -> list[dict[str, object]]:
    with connect() as db:
        result = db.execute(
            f"SELECT * FROM read_parquet('{layout.root / table}/*/*.parquet') ORDER BY sender"
        )
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


# ---- one record per message ----

def test_the_rcpt_decisions_of_one_instance_are_one_record_with_the_strongest_action(
    layout: LakeLayout,
) -> None:
    journal = DecisionJournal(layout)
    journal.note(request("t2@district.k12.us"), DUNNO, monitor=False)
    journal.note(request("S1@Students.district.k12.us"), REJECT, monitor=False)
    journal.note(request("p1@gmail.com"), WARN, monitor=False)
    journal.note(request("", state="END-OF-MESSAGE"), WARN, monitor=False)
    (row,) = rows(journal, everything=False)  # END-OF-MESSAGE finished it
    assert row["sender"] == "t1home@gmail.com"
    assert row["recipients"] == ["t2@district.k12.us", "s1@students.district.k12.us",
                                 "p1@gmail.com"]
    assert (row["action"], row["monitor"], row["stopped"]) == ("REJECT", False, True)
    assert row["stopped_recipients"] == ["s1@students.district.k12.us"]  # the others got it
    assert row["rule_ids"] == ["9052-A-direct"]
    assert row["reason"] == REJECT.reason
    assert (row["source_ref"], row["instance"], row["queue_id"], row["message_id"]) == \
        ("gateway:i1", "i1", "4F2A1B", "4F2A1B")  # Postfix names the queue file late
    assert (row["protocol_state"], row["client_address"]) == ("END-OF-MESSAGE", "10.20.0.7")
    assert row["source_kind"] == "gateway" and row["channel_type"] == "email"


@pytest.mark.parametrize(
    ("decided", "state", "stopped"),
    [((HOLD,), "RCPT", ["a@x.org", "b@x.org"]),
     ((DUNNO, REJECT), "END-OF-MESSAGE", ["a@x.org", "b@x.org"]),
     ((DUNNO, WARN), "END-OF-MESSAGE", [])],
    ids=["a HOLD holds the whole message", "a REJECT at END-OF-MESSAGE refuses it all",
         "WARN lets it through"],
)
def test_what_was_stopped(layout: LakeLayout, decided: tuple[Decision, ...], state: str,
                          stopped: list[str]) -> None:
    journal = DecisionJournal(layout)
    journal.note(request("a@x.org"), decided[0], monitor=False)
    journal.note(request("b@x.org"), DUNNO, monitor=False)
    if state != "RCPT":
        journal.note(request("", state=state), decided[-1], monitor=False)
    (row,) = rows(journal)
    assert row["stopped_recipients"] == stopped
    assert row["stopped"] is bool(stopped)


def test_monitor_mode_records_what_it_would_have_done_and_stops_nothing(
    layout: LakeLayout,
) -> None:
    journal = DecisionJournal(layout)
    journal.note(request("s1@students.district.k12.us"), WOULD_REJECT, monitor=True)
    (row,) = rows(journal)
    assert (row["action"], row["monitor"], row["stopped"], row["stopped_recipients"]) == \
        ("REJECT", True, False, [])


def test_messages_wait_for_their_end_then_are_recorded_anyway(layout: LakeLayout) -> None:
    waiting = DecisionJournal(layout, JournalSettings(message_seconds=3600))
    waiting.note(request("a@x.org"), DUNNO, monitor=False)
    assert waiting.take() == []
    assert len(waiting.take(everything=True)) == 1
    prompt = DecisionJournal(layout, JournalSettings(message_seconds=0))
    prompt.note(request("a@x.org"), DUNNO, monitor=False)
    assert len(prompt.take()) == 1


def test_requests_without_an_instance_are_one_record_each(layout: LakeLayout) -> None:
    journal = DecisionJournal(layout)
    journal.note(request("a@x.org", instance=""), DUNNO, monitor=False)
    journal.note(request("b@x.org", instance=""), DUNNO, monitor=False)
    assert len({r["record_id"] for r in rows(journal, everything=False)}) == 2


# ---- spool, publish, re-publish ----

def test_a_flush_publishes_every_decision_and_the_stopped_mail_as_records(
    layout: LakeLayout,
) -> None:
    journal = DecisionJournal(layout, JournalSettings(message_seconds=0))
    journal.note(request("s1@students.district.k12.us", instance="m1"), REJECT, monitor=False)
    journal.note(request("t2@district.k12.us", instance="m1"), DUNNO, monitor=False)
    journal.note(request("t2@district.k12.us", instance="m2", sender="t1@district.k12.us"), DUNNO,
                 monitor=False)
    asyncio.run(journal.flush(publish=True))
    assert journal.spooled == 2 and journal.published == 2
    assert list(layout.decision_spool.glob("*")) == []  # published, then removed
    logged = lake_rows(layout, "decisions")
    assert [(r["sender"], r["action"], r["stopped"]) for r in logged] == \
        [("t1@district.k12.us", "DUNNO", False), ("t1home@gmail.com", "REJECT", True)]
    (record,) = lake_rows(layout, "records")
    assert record["record_id"] == logged[1]["record_id"]
    assert record["recipients"] == ["s1@students.district.k12.us"]  # only whom it stopped
    assert (record["source_kind"], record["source_ref"]) == ("gateway", "gateway:m1")
    assert "month" in record  # the records table's month partitions


def test_publishing_a_batch_again_adds_nothing(layout: LakeLayout, tmp_path: Path) -> None:
    journal = DecisionJournal(layout, JournalSettings(message_seconds=0))
    journal.note(request("s1@students.district.k12.us"), REJECT, monitor=False)
    journal.note(request("x@y.org", instance="i2"), DUNNO, monitor=False)
    spooled = journal.spool(decision_table(journal.take()))
    shutil.copy(spooled, tmp_path / "copy.parquet")
    assert journal.publish() == 2
    # a crash after publishing but before the spool was cleared: the batch comes again
    shutil.copy(tmp_path / "copy.parquet", spooled)
    assert journal.publish() == 0
    assert len(lake_rows(layout, "decisions")) == 2
    assert len(lake_rows(layout, "records")) == 1
    batch = pq.read_table(tmp_path / "copy.parquet")
    with layout.lock():  # and written straight to the lake twice
        assert decisions.write(layout, batch, "again").stored == 0


def test_a_spool_that_cannot_be_written_keeps_the_decisions_for_the_next_flush(
    layout: LakeLayout, monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = DecisionJournal(layout, JournalSettings(message_seconds=0))
    journal.note(request("s1@students.district.k12.us"), REJECT, monitor=False)
    monkeypatch.setattr(journal_module.pq, "write_table", _disk_full)
    asyncio.run(journal.flush(publish=True))
    monkeypatch.undo()
    assert journal.spooled == 0
    assert list(layout.decision_spool.iterdir()) == []  # nothing half-written left
    asyncio.run(journal.flush(publish=True))
    assert journal.spooled == 1 and len(lake_rows(layout, "decisions")) == 1


def _disk_full(*_args: object, **_kwargs: object) -> None:
    raise OSError(28, "No space left on device")


def test_while_an_ingest_holds_the_lake_decisions_wait_in_the_spool_and_are_listed(
    layout: LakeLayout,
) -> None:
    journal = DecisionJournal(layout, JournalSettings(message_seconds=0, lock_seconds=0.2))
    journal.note(request("s1@students.district.k12.us"), REJECT, monitor=False)
    held, release = threading.Event(), threading.Event()

    def ingest() -> None:
        with layout.lock():
            held.set()
            release.wait(10)

    other = threading.Thread(target=ingest)
    other.start()
    held.wait(10)
    try:
        asyncio.run(journal.flush(publish=True))  # logs, does not raise
        with pytest.raises(LakeBusy):
            journal.publish()
        assert len(list(layout.decision_spool.glob("*.parquet"))) == 1
        assert [r["action"] for r in decisions.recent(layout, limit=5)] == ["REJECT"]
    finally:
        release.set()
        other.join(10)
    assert journal.publish() == 1
    assert [r["action"] for r in decisions.recent(layout, limit=5)] == ["REJECT"]  # once


def test_closing_records_every_message_held(layout: LakeLayout) -> None:
    async def serve_then_stop() -> DecisionJournal:
        journal = DecisionJournal(layout, JournalSettings(flush_seconds=3600))
        journal.start()
        journal.note(request("s1@students.district.k12.us"), REJECT, monitor=False)  # still open
        await asyncio.sleep(0)
        await journal.close()
        return journal

    journal = asyncio.run(serve_then_stop())
    assert journal.published == 1
    assert lake_rows(layout, "decisions")[0]["stopped"] is True


def test_the_background_flush_runs_when_enough_decisions_wait(layout: LakeLayout) -> None:
    async def serve() -> int:
        journal = DecisionJournal(layout, JournalSettings(flush_seconds=3600, flush_decisions=3,
                                                          publish_seconds=3600))
        journal.start()
        for n in range(3):
            journal.note(request(f"r{n}@x.org", instance=f"m{n}", state="END-OF-MESSAGE"),
                         DUNNO, monitor=False)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if journal.spooled:
                break
        spooled = journal.spooled
        await journal.close()
        return spooled

    assert asyncio.run(serve()) == 3
    assert len(lake_rows(layout, "decisions")) == 3
