"""`generate_traffic`: draw every source's records, write them, and count what was planted."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

from chaperone.demo.district import CONTACTS_HEADER, SampleDistrict
from chaperone.demo.files import write_csv
from chaperone.demo.traffic.clock import Clock
from chaperone.demo.traffic.ids import Ids
from chaperone.demo.traffic.mail import Mail, Mailer, draw_mails
from chaperone.demo.traffic.people import People, read_people, student_emails
from chaperone.demo.traffic.registry import read_registry
from chaperone.demo.traffic.slack import Slack, draw_slack
from chaperone.demo.traffic.texts import Text, Texter
from chaperone.demo.traffic.writers import write_mbox, write_slack, write_texts, write_trace

SOURCE_SHARES = (("trace", 0.55), ("mailbox", 0.10), ("texts", 0.20))  # slack: the rest
# Share of all records planted as each kind of §A violation (about 3.8% in all).
PLANTED_RATES: dict[str, float] = {
    "personal_email_to_student": 0.006,
    "personal_email_to_parent": 0.004,
    "student_personal_email": 0.004,
    "personal_phone_to_parent": 0.006,
    "denied_platform": 0.004,
    "pending_platform": 0.004,
    "expired_platform": 0.004,
    "channel_not_approved": 0.002,
    "audience_not_approved": 0.004,
}
PLANTED_KINDS = tuple(PLANTED_RATES)
MIN_RECORDS = 500


@dataclass(frozen=True)
class SampleTraffic:
    """Paths of the generated sources, records written per source, and planted violations.

    `counts` holds the records written per source (`trace` counts messages, not rows; every
    count includes the source's bad rows), plus `duplicates_planted` (messages in both the
    trace and the mbox) and `bad_rows_planted` (rows that must go to quarantine).
    """

    trace: Path
    mailbox: Path
    texts: Path
    slack: Path
    student_contacts: Path
    counts: dict[str, int]
    planted: dict[str, int]


class _Drawn(NamedTuple):
    """Every source's records before they are written."""

    trace: list[Mail]
    mailbox: list[Mail]
    texts: list[Text]
    slack: Slack


def generate_traffic(
    district: SampleDistrict,
    out: Path,
    *,
    seed: int = 9052,
    records: int = 200_000,
    start: date = date(2026, 6, 1),
    end: date = date(2026, 11, 15),
) -> SampleTraffic:
    """Write seeded sample traffic of the district under out and describe what was written."""
    if records < MIN_RECORDS:
        raise ValueError(f"records must be at least {MIN_RECORDS}")
    if end < start:
        raise ValueError("end must not be before start")
    master = random.Random(seed)
    rngs = [random.Random(master.getrandbits(64)) for _ in range(5)]
    registry = read_registry(district.registry)
    people = read_people(district, registry)
    out.mkdir(parents=True, exist_ok=True)
    student_contacts = out / "student-contacts.csv"
    write_csv(student_contacts, CONTACTS_HEADER, student_emails(rngs[0], people))
    clock = Clock(start, end, registry.timezone)
    drawn = _draw(rngs, people, clock, registry.expires_on, records)
    paths = _write(rngs[4], out, drawn, people)
    return SampleTraffic(
        trace=paths["trace"],
        mailbox=paths["mailbox"],
        texts=paths["texts"],
        slack=paths["slack"],
        student_contacts=student_contacts,
        counts=_counts(drawn),
        planted=_planted(drawn),
    )


def _sizes(records: int) -> dict[str, int]:
    """Split the records over the sources."""
    sizes = {name: round(records * share) for name, share in SOURCE_SHARES}
    sizes["slack"] = records - sum(sizes.values())
    return sizes


def _draw(
    rngs: list[random.Random], people: People, clock: Clock, expires_on: date, records: int
) -> _Drawn:
    """Draw the records of every source, each from its own random source."""
    sizes = _sizes(records)
    targets = {kind: max(3, round(records * rate)) for kind, rate in PLANTED_RATES.items()}
    duplicates, bad = max(3, records // 10_000), max(2, records // 40_000)
    ids = Ids()
    trace, mailbox = draw_mails(
        Mailer(rngs[1], people, clock, ids), sizes, targets, duplicates, bad
    )
    texts = Texter(rngs[2], people, clock, ids, expires_on).log(sizes["texts"], targets, bad)
    slack = draw_slack(rngs[3], people, clock, sizes["slack"], targets["audience_not_approved"])
    return _Drawn(trace, mailbox, texts, slack)


def _write(rng: random.Random, out: Path, drawn: _Drawn, people: People) -> dict[str, Path]:
    """Write every source under out; return their paths."""
    paths = {
        "trace": out / "trace.csv",
        "mailbox": out / "mailbox.mbox",
        "texts": out / "texts.csv",
        "slack": out / "slack",
    }
    write_trace(rng, paths["trace"], drawn.trace)
    write_mbox(paths["mailbox"], drawn.mailbox, people)
    write_texts(rng, paths["texts"], drawn.texts)
    write_slack(paths["slack"], drawn.slack)
    return paths


def _counts(drawn: _Drawn) -> dict[str, int]:
    """Records per source, duplicated messages and bad rows."""
    trace_ids = {m.message_id for m in drawn.trace}
    bad = sum(not m.sender for m in drawn.trace) + sum(t.kind == "bad" for t in drawn.texts)
    return {
        "trace": len(drawn.trace),
        "mailbox": len(drawn.mailbox),
        "texts": len(drawn.texts),
        "slack": len(drawn.slack.posts),
        "duplicates_planted": sum(m.message_id in trace_ids for m in drawn.mailbox),
        "bad_rows_planted": bad,
    }


def _planted(drawn: _Drawn) -> dict[str, int]:
    """Planted violations of every kind, over all sources."""
    kinds = [m.kind for m in drawn.trace] + [m.kind for m in drawn.mailbox]
    kinds += [t.kind for t in drawn.texts] + [p.kind for p in drawn.slack.posts]
    return {kind: kinds.count(kind) for kind in PLANTED_KINDS}
