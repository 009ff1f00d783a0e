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
import datetime as dt
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chaperone.directory.normalize import normalize_email
from chaperone.gateway.decide import SEVERITY, Decision
from chaperone.gateway.protocol import PolicyRequest
from chaperone.ingest.record import stable_id
from chaperone.lake import decisions
from chaperone.lake.layout import LakeBusy, LakeLayout

log = logging.getLogger("chaperone.gateway")

MESSAGE_STATES = ("END-OF-MESSAGE", "DATA")  # states that judge the whole message
MAX_OPEN = 100_000  # messages awaiting their END-OF-MESSAGE before the oldest is recorded early


@dataclass(slots=True)
class Message:
    """The decisions of one message (one Postfix ``instance``) until it is recorded."""

    key: str
    started: float  # time.monotonic() of its first request
    occurred_at: dt.datetime
    request: PolicyRequest  # the first request: sender, queue id, client
    monitor: bool
    recipients: dict[str, str] = field(default_factory=dict)  # recipient -> action called for
    action: str = "DUNNO"
    reason: str = ""
    rule_ids: list[str] = field(default_factory=list)
    state: str = "RCPT"
    whole: bool = False  # the whole message was stopped (HOLD, or a stop at END-OF-MESSAGE)

    def add(self, request: PolicyRequest, decision: Decision) -> None:
        """Fold one request's decision in: the strongest action wins."""
        called = decision.intended or decision.action
        if request.recipient:
            recipient = normalize_email(request.recipient)
            if SEVERITY[called] >= SEVERITY[self.recipients.get(recipient, "DUNNO")]:
                self.recipients[recipient] = called
        if request.state in MESSAGE_STATES:
            self.state = request.state
            self.whole = self.whole or called in decisions.STOPPING
        self.whole = self.whole or called == "HOLD"  # Postfix holds the whole message
        if decision.rule_id and decision.rule_id not in self.rule_ids:
            self.rule_ids.append(decision.rule_id)
        if SEVERITY[called] > SEVERITY[self.action]:
            self.action, self.reason = called, decision.reason

    def row(self) -> dict[str, Any]:
        """The message as a row of the decisions table."""
        first = self.request
        recipients = list(self.recipients)
        stopping = not self.monitor and self.action in decisions.STOPPING
        stopped = (
            [] if not stopping
            else recipients if self.whole
            else [r for r, action in self.recipients.items() if action == "REJECT"]
        )
        return {
            "record_id": stable_id("gateway", self.key, self.occurred_at.isoformat()),
            "message_id": first.queue_id or None,
            "occurred_at": self.occurred_at,
            "channel_type": "email",
            "platform": None,
            "sender": normalize_email(first.sender) if first.sender else "",
            "recipients": recipients,
            "subject": None,
            "has_media": False,
            "attachment_count": 0,
            "source_kind": decisions.SOURCE_KIND,
            "source_ref": f"gateway:{first.instance or first.queue_id or '-'}",
            "defects": [],
            "action": self.action,
            "monitor": self.monitor,
            "stopped": bool(stopped),
            "stopped_recipients": stopped,
            "rule_ids": self.rule_ids,
            "reason": self.reason,
            "instance": first.instance,
            "queue_id": first.queue_id,
            "protocol_state": self.state,
            "client_address": first.client_address,
            "client_name": first.client_name,
            "sasl_username": first.sasl_username,
        }


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
        self._open: dict[str, Message] = {}
        self._done: list[Message] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="chaperone-decisions")
        self.spooled = 0  # messages written to the spool
        self.published = 0  # decision rows added to the lake
        self.dropped = 0  # messages lost because the spool could not be written for too long

    # ---- the hot path (event loop thread) ----

    def note(self, request: PolicyRequest, decision: Decision, *, monitor: bool) -> None:
        """Remember one answered request."""
        key = request.instance
        whole = request.state in MESSAGE_STATES
        message = self._open.get(key) if key else None
        if message is None:
            message = Message(key or uuid.uuid4().hex, time.monotonic(),
                              dt.datetime.now(dt.UTC), request, monitor)
            if key and not whole:
                if len(self._open) >= MAX_OPEN:
                    self._finish(self._open.pop(next(iter(self._open))))
                self._open[key] = message
        message.add(request, decision)
        if whole or not key:
            if key:
                self._open.pop(key, None)
            self._finish(message)

    def _finish(self, message: Message) -> None:
        self._done.append(message)
        if len(self._done) >= self.config.flush_decisions and not self._wake.is_set():
            self._wake.set()

    def take(self, *, everything: bool = False) -> list[Message]:
        """The finished messages, and those that waited ``message_seconds`` for their end."""
        cutoff = time.monotonic() - self.config.message_seconds
        expired = []
        for key, message in self._open.items():
            if not everything and message.started > cutoff:
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
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush(everything=True, publish=True)
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        publish_at = time.monotonic()  # publish what a previous run left in the spool
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.flush_seconds):
                    await self._wake.wait()
            self._wake.clear()
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

    def _keep(self, messages: list[Message]) -> None:
        self._done[:0] = messages
        excess = len(self._done) - self.config.max_waiting
        if excess > 0:
            del self._done[:excess]
            self.dropped += excess
            log.error("dropped the %d oldest decision records: the spool is not writable", excess)

    # ---- in the flush thread ----

    def _store(self, messages: list[Message], publish: bool) -> None:
        rows = [m.row() for m in messages if m.recipients]
        if rows:
            self.spool(rows)
            self.spooled += len(rows)
        if publish:
            try:
                self.publish()
            except LakeBusy:
                log.info("the lake is busy (an ingest?); decision records wait in the spool")
            except Exception:  # the spool keeps them for the next round
                log.exception("could not publish decision records; they wait in the spool")

    def spool(self, rows: list[dict[str, Any]]) -> Path:
        """Write rows as one whole file into the spool (written aside, synced, renamed)."""
        folder = self.layout.decision_spool
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        temporary = folder / f".{name}.tmp"
        try:
            pq.write_table(pa.Table.from_pylist(rows, schema=decisions.DECISION_SCHEMA),
                           temporary)
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
