"""Ingest benchmark: chaperone's mbox and m365-trace connectors beside baselines, in one run.

Generates (seeded, so every run reads the same bytes) an mbox of N messages and an
Exchange Online message trace CSV of M rows, then times, in this one process:

* ``ingest("mbox")`` into a fresh lake, against the standard library's full parse
  (``email.policy.default``), its header-only parse (``compat32``) and ``mail-parser``
  over the same message bytes (the Python baselines on the first ``--sample`` messages);
* ``ingest("m365-trace")`` into a fresh lake, against DuckDB's own ``read_csv`` (the
  goal's baseline) and, for reference, DuckDB's copy of the same CSV to a Parquet file.

It prints rates, the ratios against the goals (PASS/MISS) and the peak RSS. The
machine is shared and noisy: read the ratios, not the seconds.

    python bench/ingest_bench.py [--messages 100000] [--trace-rows 1000000]
                                 [--sample 10000] [--workdir DIR] [--profile K]
                                 [--only mbox|trace] [--trace-days 365]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import csv
import datetime as dt
import logging
import mmap
import platform
import pstats
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32, default
from email.utils import format_datetime
from importlib.metadata import version
from pathlib import Path

import duckdb
import mailparser

from chaperone.ingest import reading as mailbox_reading
from chaperone.ingest.context import IngestContext
from chaperone.ingest.flow import SourceReport, ingest
from chaperone.lake.writer import lake_path

MAILPARSER_GOAL = 5.0  # chaperone mbox ingest at least 5x mail-parser's parse
DUCKDB_GOAL = 0.5  # chaperone trace ingest at least half DuckDB's bare read_csv

# fmt: off
FIRST = (
    "Dana", "Ana", "Luis", "Maya", "Omar", "Priya", "Chen", "Sofia", "Noah", "Emma", "Liam",
    "Olivia", "Ava", "Mateo", "Zoe", "Ravi", "Grace", "Ethan", "Leah", "Jamal", "Nina", "Oscar",
    "Ruth", "Sam", "Tara", "Victor", "Wei", "Yusuf", "Ines", "Hugo",
)
LAST = (
    "Ito", "Garcia", "Nguyen", "Smith", "Okafor", "Patel", "Kim", "Rossi", "Cohen", "Silva",
    "Brown", "Lopez", "Haddad", "Novak", "Jensen", "Murphy", "Tanaka", "Dubois", "Ortiz", "Walker",
    "Singh", "Moreau", "Costa", "Fischer",
)
DOMAINS = (
    "example.k12.ny.us",
    "students.example.k12.ny.us",
    "parents.example.org",
    "gmail.com",
    "outlook.com",
)
WORDS = (
    "the", "bus", "leaves", "at", "eight", "please", "sign", "and", "return", "permission", "slip",
    "field", "trip", "museum", "lunch", "practice", "schedule", "grades", "report", "card",
    "conference", "meeting", "teacher", "class", "room", "homework", "due", "tomorrow", "thanks",
    "for", "your", "help", "reminder", "about", "the", "game", "on", "friday", "library", "books",
    "science", "fair", "project", "rubric", "attached", "see", "you", "next", "week", "best",
    "regards",
)
TOPICS = (
    "Field trip",
    "Permission slip",
    "Practice schedule",
    "Report card",
    "Parent conference",
    "Science fair",
    "Homework",
    "Lunch menu",
    "Bus route change",
    "Club meeting",
)
ENCODED = ("=?utf-8?q?Caf=C3=A9_menu_for_the_week?=", "=?utf-8?b?w4lxdWlwZSBkZSBmb290?=")
ZONES = tuple(dt.timezone(dt.timedelta(hours=h)) for h in (-4, -5, -6, -7, 0, 1))
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp()
YEAR = 365 * 86_400
RECIPIENTS = (1, 1, 1, 1, 2, 2, 3, 4)
MBOX_SEPARATOR = re.compile(rb"^From [^\n]*\n", re.MULTILINE)
TRACE_HEADER = (
    "Received", "SenderAddress", "RecipientAddress", "Subject", "Status", "Size", "MessageId",
    "MessageTraceId", "FromIP", "ToIP",
)
# fmt: on
STATUSES = ("Delivered",) * 8 + ("Failed", "FilteredAsSpam", "Quarantined", "Expanded")
BAD_DATES = ("13/45/2026 27:61:99 PM", "yesterday", "2026-14-40")


@dataclass(frozen=True)
class Pools:
    """Precomputed material the generators draw from (fast, deterministic)."""

    people: list[tuple[str, str]]  # (header mailbox, bare address)
    lines: list[str]
    subjects: list[str]
    blobs: list[tuple[str, str, str]]  # (content type, filename, base64 text)


def make_pools(rng: random.Random) -> Pools:
    """People, body lines, subjects and attachment bodies for the generators."""
    people = [_person(rng, i) for i in range(3000)]
    lines = [" ".join(rng.choices(WORDS, k=rng.randint(8, 13))) for _ in range(4000)]
    subjects = [
        f"{rng.choice(('', '', 'Re: ', 'Fwd: ', 'RE: '))}{rng.choice(TOPICS)}"
        f"{rng.choice(('', ' - ' + rng.choice(WORDS), ', grade ' + str(rng.randint(1, 12))))}"
        for _ in range(600)
    ]
    subjects += list(ENCODED) * 15  # about 5% encoded words
    blobs = []
    for i in range(48):
        png = i % 2 == 0
        magic, kind, ext = (
            (b"\x89PNG\r\n\x1a\n", "image/png", "png")
            if png
            else (b"%PDF-1.4\n", "application/pdf", "pdf")
        )
        raw = magic + rng.randbytes(rng.randint(1_000, 5_000))
        blobs.append((kind, f"{rng.choice(WORDS)}-{i}.{ext}", base64.encodebytes(raw).decode()))
    return Pools(people, lines, subjects, blobs)


def _person(rng: random.Random, index: int) -> tuple[str, str]:
    """One person: a mailbox as a header shows it, and the bare address."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = f"{first}.{last}{index % 97 or ''}"
    address = f"{local if rng.random() < 0.2 else local.lower()}@{rng.choice(DOMAINS)}"
    style = rng.random()
    if style < 0.55:
        return f"{first} {last} <{address}>", address
    if style < 0.8:
        return f'"{last}, {first}" <{address}>', address
    return address, address


# ---------------------------------------------------------------------------- mbox


def write_mbox(path: Path, count: int, rng: random.Random, pools: Pools) -> None:
    """An mbox of ``count`` messages; about 0.5% repeat an earlier one (duplicates)."""
    buffer: list[str] = []
    previous = ""
    with path.open("w", encoding="ascii", newline="\n") as handle:
        for index in range(count):
            if previous and rng.random() < 0.005:
                text = previous
            else:
                text = previous = mbox_message(rng, pools, index)
            buffer.append(text)
            if len(buffer) >= 2_000:
                handle.write("".join(buffer))
                buffer.clear()
        handle.write("".join(buffer))


def mbox_message(rng: random.Random, pools: Pools, index: int) -> str:
    """One message with its From_ line, headers and body, ending in a blank line."""
    sender, sender_address = rng.choice(pools.people)
    to = [p[0] for p in rng.sample(pools.people, rng.choice(RECIPIENTS))]
    cc = [p[0] for p in rng.sample(pools.people, rng.randint(1, 2))] if rng.random() < 0.25 else []
    when = dt.datetime.fromtimestamp(START + rng.random() * YEAR, rng.choice(ZONES))
    date = format_datetime(when)
    domain = sender_address.rpartition("@")[2]
    head = [
        f"Received: from mail-{rng.randint(1, 99)}.{domain} (mail.{domain} "
        f"[{_ip(rng)}])\n\tby mx.example.k12.ny.us with ESMTPS id {rng.getrandbits(40):010x}"
        f"\n\tfor <{to[0].rpartition('<')[2].rstrip('>')}>; {date}",
        f"Received: from localhost (localhost [127.0.0.1])\n\tby mail.{domain}; {date}",
        f"From: {sender}",
        f"To: {', '.join(to)}",
        *([f"Cc: {', '.join(cc)}"] if cc else []),
        f"Subject: {rng.choice(pools.subjects)}",
        f"Date: {date}",
        f"Message-ID: <{index:07d}.{rng.getrandbits(48):012x}@{domain}>",
        "MIME-Version: 1.0",
    ]
    body = _multipart(rng, pools, index) if rng.random() < 0.3 else _plain(rng, pools)
    envelope = when.astimezone(dt.UTC).strftime("%a %b %d %H:%M:%S %Y")
    return f"From {sender_address} {envelope}\n" + "\n".join(head) + "\n" + body + "\n\n"


def _ip(rng: random.Random) -> str:
    """A plausible public IPv4 address."""
    return f"{rng.randint(20, 220)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"


def _text(rng: random.Random, pools: Pools) -> str:
    """A few hundred bytes to a few KB of wrapped text."""
    start = rng.randrange(len(pools.lines) - 60)
    return "\n".join(pools.lines[start : start + rng.randint(4, 50)])


def _plain(rng: random.Random, pools: Pools) -> str:
    """Content headers and body of a single-part text message."""
    return 'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: 7bit\n\n' + (
        _text(rng, pools)
    )


def _multipart(rng: random.Random, pools: Pools, index: int) -> str:
    """multipart/mixed: text (half of them as multipart/alternative) and one attachment."""
    outer, inner = f"=_mixed_{index:07d}", f"=_alt_{index:07d}"
    text = _text(rng, pools)
    if rng.random() < 0.5:
        html = "<html><body><p>" + text.replace("\n", "</p>\n<p>") + "</p></body></html>"
        first = (
            f'Content-Type: multipart/alternative; boundary="{inner}"\n\n--{inner}\n'
            f'Content-Type: text/plain; charset="utf-8"\n\n{text}\n--{inner}\n'
            f'Content-Type: text/html; charset="utf-8"\n\n{html}\n--{inner}--\n'
        )
    else:
        first = f'Content-Type: text/plain; charset="utf-8"\n\n{text}\n'
    kind, name, data = rng.choice(pools.blobs)
    return (
        f'Content-Type: multipart/mixed; boundary="{outer}"\n\n'
        f"This is a multi-part message in MIME format.\n\n--{outer}\n{first}--{outer}\n"
        f'Content-Type: {kind}; name="{name}"\n'
        f'Content-Disposition: attachment; filename="{name}"\n'
        f"Content-Transfer-Encoding: base64\n\n{data}--{outer}--"
    )


def mbox_slices(path: Path, limit: int) -> list[bytes]:
    """The first ``limit`` messages of an mbox as bytes, split at From_ lines as chaperone does."""
    slices: list[bytes] = []
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        previous: int | None = None
        for match in MBOX_SEPARATOR.finditer(data):
            if previous is not None:
                slices.append(data[previous : match.start()])
                if len(slices) == limit:
                    return slices
            previous = match.end()
        if previous is not None:
            slices.append(data[previous:])
    return slices[:limit]


# --------------------------------------------------------------------- message trace


def write_trace(path: Path, rows: int, rng: random.Random, pools: Pools, days: int = 365) -> int:
    """A Get-MessageTrace CSV of ``rows`` rows (1-4 recipients a message); returns messages."""
    written = messages = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\r\n")
        out.writerow(TRACE_HEADER)
        while written < rows:
            batch = trace_message(rng, pools, messages, rows - written, days)
            out.writerows(batch)
            written += len(batch)
            messages += 1
    return messages


def trace_message(
    rng: random.Random, pools: Pools, index: int, room: int, days: int = 365
) -> list[list[str]]:
    """The rows of one message, one per recipient; about 1% of rows are broken."""
    when = dt.datetime.fromtimestamp(START + rng.random() * (days * 86_400), dt.UTC)
    received = (
        f"{when.month}/{when.day}/{when.year} {(when.hour % 12) or 12}:"
        f"{when.minute:02d}:{when.second:02d} {'PM' if when.hour >= 12 else 'AM'}"
    )
    sender = rng.choice(pools.people)[1]
    subject = rng.choice(pools.subjects)
    size = str(rng.randint(2_000, 9_000_000) if rng.random() < 0.3 else rng.randint(2_000, 60_000))
    message_id = f"<{index:08d}.{rng.getrandbits(64):016x}@{sender.rpartition('@')[2]}>"
    count = min(rng.choice(RECIPIENTS), room)
    rows = []
    for person in rng.sample(pools.people, count):
        hex_id = f"{rng.getrandbits(128):032x}"
        trace_id = f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
        row = [received, sender, person[1], subject, rng.choice(STATUSES), size, message_id]
        row += [trace_id, _ip(rng), "" if rng.random() < 0.6 else _ip(rng)]
        if rng.random() < 0.01:  # a broken row: no sender, or a date no format reads
            if rng.random() < 0.5:
                row[1] = ""
            else:
                row[0] = rng.choice(BAD_DATES)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Rate:
    """How many items one measurement handled in how many seconds."""

    name: str
    items: int
    seconds: float
    unit: str
    note: str = ""

    @property
    def per_second(self) -> float:
        """Items per second."""
        return self.items / self.seconds

    def show(self) -> None:
        """One line of the report."""
        print(
            f"  {self.name:<34} {self.items:>10,} {self.unit:<4} {self.seconds:>8.2f} s "
            f"{self.per_second:>12,.0f} {self.unit}/s  {self.note}".rstrip()
        )


def timed(runs: int, work: Callable[[], object]) -> tuple[float, object]:
    """The best wall time of ``runs`` calls, and what the last call returned."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def fresh_home(workdir: Path, name: str) -> Path:
    """An empty data folder for one ingest (so nothing counts as already ingested)."""
    home = workdir / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return home


def run_ingest(kind: str, source: Path, home: Path) -> SourceReport:
    """One chaperone ingest of one source into the lake of ``home``; checks the accounting."""
    (report,) = ingest(kind, [source], layout=lake_path(home), context=IngestContext())
    assert report.status == "ingested", f"{kind}: {report.status} {report.error}"
    assert report.balanced, report
    return report


def timed_ingest(kind: str, source: Path, workdir: Path, runs: int) -> tuple[float, SourceReport]:
    """The best time of ``runs`` ingests, each into a fresh lake made outside the timing."""
    best, report = float("inf"), None
    for attempt in range(1, runs + 1):
        home = fresh_home(workdir, f"lake-{kind}-{attempt}")
        start = time.perf_counter()
        report = run_ingest(kind, source, home)
        best = min(best, time.perf_counter() - start)
    assert report is not None
    return best, report


def accounting(report: SourceReport) -> str:
    """The accounting identity of a report, written out."""
    return (
        f"read {report.read:,} = stored {report.stored:,} + merged {report.merged:,}"
        f" + duplicates {report.duplicates:,} + quarantined {report.quarantined:,}  (balanced)"
    )


def stdlib_full(messages: Sequence[bytes]) -> int:
    """Full parse with email.policy.default: From/To/Date and attachments counted by walking."""
    parser = BytesParser(policy=default)
    attachments = 0
    for raw in messages:
        message = parser.parsebytes(raw)
        _ = (message["from"], message["to"], message["date"])
        attachments += sum(1 for part in message.walk() if part.is_attachment())
    return attachments


def stdlib_headers(messages: Sequence[bytes]) -> int:
    """Header-only parse with compat32 (raw header strings, no MIME): a reference point."""
    parser = BytesHeaderParser(policy=compat32)
    found = 0
    for raw in messages:
        message = parser.parsebytes(raw)
        found += bool(message["from"] and message["to"] and message["date"])
    return found


def mail_parser(messages: Sequence[bytes]) -> int:
    """mail-parser's parse: sender, recipients, date and attachments."""
    attachments = 0
    for raw in messages:
        mail = mailparser.parse_from_bytes(raw)
        _ = (mail.from_, mail.to, mail.date)
        attachments += len(mail.attachments)
    return attachments


def duckdb_read(path: Path) -> int:
    """DuckDB's own CSV reader, all columns as text, in a fresh connection; returns rows."""
    with duckdb.connect() as db:
        db.execute(
            "CREATE TABLE t AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )
        row = db.execute("SELECT count(*) FROM t").fetchone()
    return int(row[0]) if row else 0


def duckdb_to_parquet(path: Path, target: Path) -> int:
    """DuckDB's own copy of the CSV (types sniffed) to one zstd Parquet file: the same kind
    of job as the ingest, without grouping or checks; returns rows."""
    with duckdb.connect() as db:
        row = db.execute(
            f"COPY (FROM read_csv({_quoted(path)})) TO {_quoted(target)} "
            "(FORMAT parquet, COMPRESSION zstd)"
        ).fetchone()
    target.unlink()
    return int(row[0]) if row else 0


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (ru_maxrss is KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------- runs


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--messages", type=int, default=100_000, help="mbox messages")
    parser.add_argument("--trace-rows", type=int, default=1_000_000, help="message trace rows")
    parser.add_argument(
        "--trace-days",
        type=int,
        default=365,
        help="days the trace spans (Get-MessageTrace covers 10; the lake keeps a file per month)",
    )
    parser.add_argument(
        "--sample", type=int, default=10_000, help="time the Python baselines on the first K"
    )
    parser.add_argument("--workdir", type=Path, help="keep the generated files and lakes here")
    parser.add_argument("--seed", type=int, default=9052)
    parser.add_argument(
        "--only",
        choices=("mbox", "trace"),
        help="generate and measure only this source (each file is the same as in a full run)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="K",
        help="also cProfile chaperone's mbox ingest of K messages, parsed in this process "
        "(top 15 by cumulative time)",
    )
    return parser.parse_args(argv)


def generate(args: argparse.Namespace, workdir: Path) -> tuple[Path | None, Path | None]:
    """Write the mbox and the trace CSV (or the one ``--only`` names); report their sizes
    and how long they took. The trace has a seeded generator of its own, so it is the
    same whether or not the mbox is written."""
    rng = random.Random(args.seed)
    pools = make_pools(rng)
    mbox = trace = None
    start = time.perf_counter()
    if args.only in (None, "mbox"):
        mbox = workdir / "bench.mbox"
        write_mbox(mbox, args.messages, rng, pools)
    if args.only in (None, "trace"):
        trace = workdir / "MessageTrace.csv"
        trace_rng = random.Random(f"{args.seed}/trace")
        messages = write_trace(trace, args.trace_rows, trace_rng, pools, args.trace_days)
    print(f"generated in {time.perf_counter() - start:.1f} s (seed {args.seed}, in {workdir})")
    if mbox:
        print(f"  {mbox.name}: {args.messages:,} messages, {mbox.stat().st_size / 1e6:,.1f} MB")
    if trace:
        print(
            f"  {trace.name}: {args.trace_rows:,} rows, {messages:,} MessageIds over "
            f"{args.trace_days} days, {trace.stat().st_size / 1e6:,.1f} MB"
        )
    return mbox, trace


def measure_mbox(args: argparse.Namespace, mbox: Path, workdir: Path) -> dict[str, Rate]:
    """Chaperone's mbox ingest, then the Python baselines over the same message bytes."""
    seconds, result = timed_ingest("mbox", mbox, workdir, runs=1)
    rates = {"chaperone": Rate("chaperone ingest mbox (+ lake)", result.read, seconds, "msg")}
    rates["chaperone"].show()
    print(f"    {reading(args.messages)}")
    print(f"    {accounting(result)}; peak RSS so far {peak_rss_mb():,.0f} MB")
    sample = mbox_slices(mbox, min(args.sample, args.messages))
    scope = "all" if len(sample) == args.messages else f"first {len(sample):,} of {args.messages:,}"
    print(f"  Python baselines over the same bytes ({scope} messages, split outside the timing):")
    baselines = (
        ("stdlib", "stdlib email.policy.default full", 1, stdlib_full),
        ("compat32", "stdlib compat32 headers only", 2, stdlib_headers),
        ("mail-parser", "mail-parser parse_from_bytes", 1, mail_parser),
    )
    for key, name, runs, work in baselines:
        seconds, found = timed(runs, lambda work=work: work(sample))
        unit = "attachments" if key != "compat32" else "with From/To/Date"
        rates[key] = Rate(name, len(sample), seconds, "msg", f"({found:,} {unit})")
        rates[key].show()
    print(f"    peak RSS so far {peak_rss_mb():,.0f} MB")
    return rates


def measure_trace(trace: Path, rows: int, workdir: Path) -> dict[str, Rate]:
    """Chaperone's m365-trace ingest and DuckDB's bare read_csv of the same file, best of 2."""
    seconds, result = timed_ingest("m365-trace", trace, workdir, runs=2)
    rates = {"chaperone": Rate("chaperone ingest m365-trace (+ lake)", rows, seconds, "rows")}
    rates["chaperone"].show()
    print(f"    {accounting(result)}")
    seconds, loaded = timed(2, lambda: duckdb_read(trace))
    assert loaded == rows, f"DuckDB read {loaded} rows of {rows}"
    rates["duckdb"] = Rate("DuckDB read_csv all_varchar", rows, seconds, "rows")
    rates["duckdb"].show()
    seconds, copied = timed(2, lambda: duckdb_to_parquet(trace, workdir / "duckdb-copy.parquet"))
    assert copied == rows, f"DuckDB copied {copied} rows of {rows}"
    rates["duckdb-parquet"] = Rate("DuckDB read_csv to Parquet (zstd)", rows, seconds, "rows")
    rates["duckdb-parquet"].show()
    print(f"    peak RSS so far {peak_rss_mb():,.0f} MB")
    return rates


def verdict(ratio: float, goal: float) -> str:
    """PASS or MISS against a goal ratio."""
    return f"goal >= {goal:g}x  {'PASS' if ratio >= goal else 'MISS'}"


def summary(mbox: dict[str, Rate], trace: dict[str, Rate], sampled: bool) -> None:
    """Ratios of chaperone to each baseline measured, with the goals, and the peak RSS."""
    lines: list[tuple[str, float, float | None]] = []
    if mbox:
        ours = mbox["chaperone"].per_second
        lines += [
            (
                "chaperone mbox / mail-parser",
                ours / mbox["mail-parser"].per_second,
                MAILPARSER_GOAL,
            ),
            ("chaperone mbox / stdlib full parse", ours / mbox["stdlib"].per_second, None),
            ("chaperone mbox / stdlib compat32 hdrs", ours / mbox["compat32"].per_second, None),
        ]
    if trace:
        ratio = trace["chaperone"].per_second / trace["duckdb"].per_second
        lines.append(("chaperone trace / DuckDB read_csv", ratio, DUCKDB_GOAL))
        to_parquet = trace["chaperone"].per_second / trace["duckdb-parquet"].per_second
        lines.append(("chaperone trace / DuckDB CSV to Parquet", to_parquet, None))
    print("\nsummary (rates measured in this run; chaperone's include writing the lake)")
    for name, ratio, goal in lines:
        print(f"  {name:<40} {ratio:>7.2f}x  {verdict(ratio, goal) if goal else '(reference)'}")
    if mbox and sampled:
        print("  (Python mbox baselines were timed on the first --sample messages only)")
    print(f"  peak RSS {peak_rss_mb():,.0f} MB")


def reading(messages: int) -> str:
    """How chaperone reads a mailbox of this many messages: here, or in worker processes."""
    workers = mailbox_reading.worker_count(messages)
    if not workers:
        return "messages parsed in this process"
    return f"messages parsed by {workers} worker processes, the lake written in this one"


def profile(count: int, workdir: Path, seed: int) -> None:
    """cProfile chaperone's mbox ingest of ``count`` fresh messages: top 15 by cumulative time.

    The messages are parsed in this process, so the profile shows where their time goes
    (with worker processes it would show this process waiting for them).
    """
    rng = random.Random(seed)
    source = workdir / "profile.mbox"
    write_mbox(source, count, rng, make_pools(rng))
    home = fresh_home(workdir, "lake-profile")
    profiler = cProfile.Profile()
    parallel_min = mailbox_reading.PARALLEL_MIN_MESSAGES
    mailbox_reading.PARALLEL_MIN_MESSAGES = count + 1
    try:
        profiler.runcall(run_ingest, "mbox", source, home)
    finally:
        mailbox_reading.PARALLEL_MIN_MESSAGES = parallel_min
    print(
        f"\ncProfile of chaperone ingest mbox, {count:,} messages parsed in this process "
        "(top 15, cumulative):"
    )
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(15)


def versions() -> str:
    """Python and the versions of the libraries measured."""
    found = ", ".join(f"{name} {version(name)}" for name in ("duckdb", "pyarrow", "mail-parser"))
    return f"Python {platform.python_version()}, {found}"


def main(argv: Sequence[str] | None = None) -> None:
    """Generate the inputs, measure, print the summary; remove a temporary work dir."""
    args = arguments(argv)
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="chaperone-ingest-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"chaperone ingest benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {versions()}")
    try:
        mbox, trace = generate(args, workdir)
        mbox_rates: dict[str, Rate] = {}
        trace_rates: dict[str, Rate] = {}
        if mbox:
            print("\nmbox")
            mbox_rates = measure_mbox(args, mbox, workdir)
        if trace:
            print("\nExchange Online message trace")
            trace_rates = measure_trace(trace, args.trace_rows, workdir)
        summary(mbox_rates, trace_rates, sampled=args.sample < args.messages)
        if args.profile and mbox:
            profile(args.profile, workdir, args.seed)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
