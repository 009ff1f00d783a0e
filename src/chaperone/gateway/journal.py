"""Decision records: each message the gateway judged, kept in memory, written in batches.

The answer to Postfix never waits for the lake. ``note`` (on the hot path) only
updates a dictionary: the RCPT decisions of one Postfix ``instance`` gather into one
message, finished at END-OF-MESSAGE (or DATA), or after ``message_seconds`` when
Postfix asks only at RCPT. A background task then, off the event loop:

1. every ``flush_seconds`` (sooner when ``flush_decisions`` messages wait) writes the
   finished messages as one whole Parquet file into the lake's spool (no lock needed);
2. every ``publish_seconds``, at start-up and at shutdown, takes the lake's lock (giving
   up after ``lock_seconds`` while an ingest holds it) and publishes the spooled batches
   with ``chaperone.lake.decisions.write``, then deletes them.

A failed step is logged and retried on the next round; a batch published twice adds
nothing (stable record ids). A clean shutdown spools everything it holds; what the lake
could not take yet is published by the next start. A crash loses at most the messages
of the last ``flush_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from chaperone.gateway.decide import SEVERITY, Decision, address
from chaperone.gateway.protocol import PolicyRequest
from chaperone.lake import decisions
from chaperone.lake.layout import LakeBusy, LakeLayout
from chaperone.lake.schema import stable_id

log = logging.getLogger("chaperone.gateway")

MESSAGE_STATES = ("END-OF-MESSAGE", "DATA")  # states that judge the whole message
MAX_OPEN = 100_000  # messages awaiting their END-OF-MESSAGE before the oldest is recorded early


class Message(NamedTuple):
    """The decisions of one message (one Postfix ``instance``), as it is recorded."""

    key: str
    started: float  # time.monotonic() of its first request
    occurred_at: int  # microseconds since the epoch (UTC) of its first request
    sender: str  # as Postfix sent it (normalised when written)
    instance: str
    queue_id: str
    client_address: str
    client_name: str
    sasl_username: str
    monitor: bool
    recipients: tuple[str, ...]
    called: tuple[str, ...]  # per recipient, the strongest action the rules called for
    action: str
    reason: str
    rule_ids: tuple[str, ...]
    state: str
    whole: bool  # the whole message was stopped (HOLD, or a stop at END-OF-MESSAGE)

    def stopped(self) -> list[str]:
        """The recipients the gateway refused or held (none in monitor mode)."""
        if self.monitor or self.action not in decisions.STOPPING:
            return []
        if self.whole:
            return list(self.recipients)
        return [r for r, called in zip(self.recipients, self.called, strict=True)
                if called == "REJECT"]


# A message while it waits in memory: Message's fields, in order, as a plain tuple. The
# garbage collector stops tracking plain tuples of plain values (not NamedTuples), so the
# thousands of messages waiting for their END-OF-MESSAGE cost no collection pauses.
Waiting = tuple[str, float, int, str, str, str, str, str, str, bool,
                tuple[str, ...], tuple[str, ...], str, str, tuple[str, ...], str, bool]


def first(key: str, request: PolicyRequest, monitor: bool) -> Waiting:
    """A message seen for the first time."""
    return (key, time.monotonic(), time.time_ns() // 1000, request.sender, request.instance,
            request.queue_id, request.client_address, request.client_name,
            request.sasl_username, monitor, (), (), "DUNNO", "", (), "RCPT", False)


def fold(message: Waiting, request: PolicyRequest, decision: Decision) -> Waiting:
    """The message with one more request's decision in: the strongest action wins."""
    (key, started, occurred_at, sender, instance, queue_id, client_address, client_name,
     sasl_username, monitor, recipients, calls, action, reason, rule_ids, state,
     whole) = message
    called = decision.intended or decision.action
    if request.recipient:
        recipient = address(request.recipient)
        if recipient not in recipients:
            recipients, calls = (*recipients, recipient), (*calls, called)
        elif SEVERITY[called] > SEVERITY[calls[index := recipients.index(recipient)]]:
            calls = (*calls[:index], called, *calls[index + 1:])
    if decision.rule_id and decision.rule_id not in rule_ids:
        rule_ids = (*rule_ids, decision.rule_id)
    if SEVERITY[called] > SEVERITY[action]:
        action, reason = called, decision.reason
    if request.state in MESSAGE_STATES:
        state = request.state
        whole = whole or called in decisions.STOPPING
    whole = whole or called == "HOLD"  # Postfix holds the whole message
    return (key, started, occurred_at, sender, instance, request.queue_id or queue_id,
            client_address, client_name, sasl_username, monitor, recipients, calls, action,
            reason, rule_ids, state, whole)


def decision_table(messages: list[Waiting]) -> pa.Table:
    """Messages as rows of the decisions table (those that reached a recipient).

    Built column by column from the transposed tuples: this runs in the flush thread,
    and the less Python it runs, the less the event loop waits for the GIL (times stay
    integers until Arrow converts them all at once; senders are normalised with the
    Decider's memo, which already holds them).
    """
    kept = [m for m in messages if m[10]]  # recipients
    if not kept:
        return decisions.DECISION_SCHEMA.empty_table()
    (keys, _started, occurred, senders, instances, queue_ids, addresses, names, sasl, monitors,
     recipients, _called, actions, reasons, rule_ids, states, _whole) = zip(*kept, strict=True)
    stopped = [Message(*m).stopped() if m[12] in decisions.STOPPING else [] for m in kept]
    n = len(kept)
    columns: dict[str, Sequence[Any]] = {
        "record_id": [stable_id("gateway", key, str(when))
                      for key, when in zip(keys, occurred, strict=True)],
        "message_id": [q or None for q in queue_ids],
        "occurred_at": pa.array(occurred, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "channel_type": ["email"] * n,
        "platform": [None] * n,
        "sender": [address(s) if s else "" for s in senders],
        "recipients": recipients,
        "subject": [None] * n,
        "has_media": [False] * n,
        "attachment_count": [0] * n,
        "source_kind": [decisions.SOURCE_KIND] * n,
        "source_ref": [f"gateway:{i or q or '-'}"
                       for i, q in zip(instances, queue_ids, strict=True)],
        "defects": [()] * n,
        "action": actions,
        "monitor": monitors,
        "stopped": [bool(s) for s in stopped],
        "stopped_recipients": stopped,
        "rule_ids": rule_ids,
        "reason": reasons,
        "instance": instances,
        "queue_id": queue_ids,
        "protocol_state": states,
        "client_address": addresses,
        "client_name": names,
        "sasl_username": sasl,
    }
    return pa.Table.from_pydict(columns, schema=decisions.DECISION_SCHEMA)


@dataclass(frozen=True)
class JournalSettings:
    """How often decisions move from memory to the spool and from the spool to the lake."""

    flush_seconds: float = 5.0
    flush_decisions: int = 5_000
    publish_seconds: float = 300.0
    message_seconds: float = 120.0
    lock_seconds: float = 2.0
    max_waiting: int = 500_000  # finished messages kept while the spool cannot be written


class DecisionJournal:
    """Collects the gateway's decisions and writes them to the lake in the background."""

    def __init__(self, layout: LakeLayout, config: JournalSettings | None = None) -> None:
        self.layout = layout
        self.config = config or JournalSettings()
        self._open: dict[str, Waiting] = {}
        self._done: list[Waiting] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="chaperone-decisions")
        self.spooled = 0  # messages written to the spool
        self.published = 0  # decision rows added to the lake
        self.dropped = 0  # messages lost because the spool could not be written for too long

    # ---- the hot path (event loop thread) ----

    def note(self, request: PolicyRequest, decision: Decision, *, monitor: bool) -> None:
        """Remember one answered request."""
        key = request.instance
        message = self._open.get(key) if key else None
        if message is None:
            message = first(key or uuid.uuid4().hex, request, monitor)
        message = fold(message, request, decision)
        if key and request.state not in MESSAGE_STATES:
            if len(self._open) >= MAX_OPEN and key not in self._open:
                self._finish(self._open.pop(next(iter(self._open))))
            self._open[key] = message  # an existing key keeps its place: start order
        else:
            if key:
                self._open.pop(key, None)
            self._finish(message)

    def _finish(self, message: Waiting) -> None:
        self._done.append(message)
        if len(self._done) >= self.config.flush_decisions and not self._wake.is_set():
            self._wake.set()

    def take(self, *, everything: bool = False) -> list[Waiting]:
        """The finished messages, and those that waited ``message_seconds`` for their end."""
        cutoff = time.monotonic() - self.config.message_seconds
        expired = []
        for key, message in self._open.items():
            if not everything and message[1] > cutoff:  # started
                break  # insertion order is start order
            expired.append(key)
        finished, self._done = self._done, []
        finished += [self._open.pop(key) for key in expired]
        return finished

    # ---- the background task ----

    def start(self) -> None:
        """Start the background flush on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Record everything held, publish what the lake will take, stop the background task."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task  # lets a flush under way finish (or keep what it could not spool)
        await self.flush(everything=True, publish=True)
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        publish_at = time.monotonic()  # publish what a previous run left in the spool
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.flush_seconds):
                    await self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            publish = time.monotonic() >= publish_at
            await self.flush(publish=publish)
            if publish:
                publish_at = time.monotonic() + self.config.publish_seconds

    async def flush(self, *, everything: bool = False, publish: bool = False) -> None:
        """Spool the finished messages (and, with ``publish``, publish the spool), off the loop."""
        messages = self.take(everything=everything)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._store, messages, publish)
        except Exception:
            log.exception("could not spool %d decision records; keeping them", len(messages))
            self._keep(messages)

    def _keep(self, messages: list[Waiting]) -> None:
        self._done[:0] = messages
        excess = len(self._done) - self.config.max_waiting
        if excess > 0:
            del self._done[:excess]
            self.dropped += excess
            log.error("dropped the %d oldest decision records: the spool is not writable", excess)

    # ---- in the flush thread ----

    def _store(self, messages: list[Waiting], publish: bool) -> None:
        table = decision_table(messages)
        if table.num_rows:
            self.spool(table)
            self.spooled += table.num_rows
        if publish:
            try:
                self.publish()
            except LakeBusy:
                log.info("the lake is busy (an ingest?); decision records wait in the spool")
            except Exception:  # the spool keeps them for the next round
                log.exception("could not publish decision records; they wait in the spool")

    def spool(self, table: pa.Table) -> Path:
        """Write a batch as one whole file into the spool (written aside, synced, renamed)."""
        folder = self.layout.decision_spool
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        temporary = folder / f".{name}.tmp"
        try:
            pq.write_table(table, temporary)
            with temporary.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, folder / name)
        finally:
            temporary.unlink(missing_ok=True)
        return folder / name

    def publish(self) -> int:
        """Move the spooled batches into the lake under its lock; how many rows were new."""
        if not any(self.layout.decision_spool.glob("*.parquet")):
            return 0
        with self.layout.lock(timeout=self.config.lock_seconds):
            self.layout.clean_staging()
            files = sorted(self.layout.decision_spool.glob("*.parquet"))
            tables = [t for t in map(_read_spooled, files) if t is not None]
            stored = 0
            if tables:
                batch = pa.concat_tables(tables)
                stored = decisions.write(self.layout, batch, run_id=uuid.uuid4().hex[:12]).stored
            for file in files:
                file.unlink(missing_ok=True)
        self.published += stored
        if files:
            log.info("published %d spooled batches of decision records (%d new rows)",
                     len(files), stored)
        return stored


def _read_spooled(path: Path) -> pa.Table | None:
    """A spooled batch; one that cannot be read is set aside with a log line."""
    try:
        return pq.read_table(path, schema=decisions.DECISION_SCHEMA)
    except Exception:
        log.exception("unreadable decision batch %s set aside", path)
        path.rename(path.with_name(path.name + ".unreadable"))
        return None
