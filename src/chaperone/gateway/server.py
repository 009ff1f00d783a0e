"""The policy service: asyncio, persistent connections, every request answered.

Each connection is read request by request (``name=value`` lines up to an empty
line). A request that is too large, cannot be parsed or cannot be evaluated gets
the fail-safe action and a log line; the connection stays up. Idle connections
are closed after ``idle_seconds``; at most ``max_connections`` are served at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from chaperone.gateway.decide import Decider, Decision, postfix_action
from chaperone.gateway.journal import DecisionJournal
from chaperone.gateway.protocol import (
    MAX_REQUEST_BYTES,
    BadRequest,
    PolicyRequest,
    answer,
    parse,
)

log = logging.getLogger("chaperone.gateway")


@dataclass(frozen=True)
class Limits:
    """Protections of the service."""

    max_request_bytes: int = MAX_REQUEST_BYTES
    idle_seconds: float = 300.0
    max_connections: int = 1000
    fail_action: str = "DUNNO"


class PolicyServer:
    """Serves Postfix policy requests with the Decider in force (swapped atomically on reload)."""

    def __init__(self, decider: Decider, limits: Limits,
                 reload: Callable[[], Decider] | None = None,
                 journal: DecisionJournal | None = None) -> None:
        self.decider = decider
        self.limits = limits
        self._reload = reload
        self.journal = journal
        self._active = 0
        self.answered = 0

    async def serve(self, listen: str) -> asyncio.Server:
        """Start listening on ``inet:HOST:PORT`` or ``unix:PATH``."""
        kind, _, where = listen.partition(":")
        if kind == "unix":
            return await asyncio.start_unix_server(self._connection, path=where, limit=2**20)
        host, _, port = where.rpartition(":")
        return await asyncio.start_server(self._connection, host or "127.0.0.1", int(port),
                                          limit=2**20)

    def install_reload(self, loop: asyncio.AbstractEventLoop) -> None:
        """Reload the directory and registry on SIGHUP without dropping connections."""
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))

    async def reload(self) -> None:
        """Build a new Decider off the event loop, then swap it in one assignment."""
        if self._reload is None:
            return
        try:
            fresh = await asyncio.get_running_loop().run_in_executor(None, self._reload)
        except Exception:  # keep serving with the old decisions
            log.exception("reload failed; keeping the directory and registry in force")
            return
        self.decider = fresh
        log.info("reloaded the directory and registry")

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        if self._active >= self.limits.max_connections:
            log.warning("connection refused: %d connections already", self._active)
            writer.close()
            return
        self._active += 1
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._active -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read and answer one request; False when the client is gone or idle too long."""
        lines: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.idle_seconds):  # one timer per request
                while True:
                    line = await reader.readline()
                    if not line:
                        return False  # disconnected (mid-request: nothing to answer)
                    size += len(line)
                    if line in (b"\n", b"\r\n"):
                        break
                    if size <= self.limits.max_request_bytes:
                        lines.append(line.rstrip(b"\n"))
        except (TimeoutError, ValueError):
            return False  # idle too long, or a line longer than the stream limit
        writer.write(answer(self._action(lines, size)))
        await writer.drain()
        self.answered += 1
        return True

    def _action(self, lines: list[bytes], size: int) -> str:
        try:
            if size > self.limits.max_request_bytes:
                raise BadRequest(f"request larger than {self.limits.max_request_bytes} bytes")
            request = parse(lines)
            return self._decide(request)
        except BadRequest as exc:
            log.warning("bad request (%s); answering %s", exc, self.limits.fail_action)
        except Exception:  # every request gets an answer
            log.exception("could not evaluate a request; answering %s", self.limits.fail_action)
        return self.limits.fail_action

    def _decide(self, request: PolicyRequest) -> str:
        decider = self.decider
        decision = decider.decide(request)
        if decision.rule_id:
            log.info("%s %s -> %s (%s)", request.queue_id or "-", decision.rule_id,
                     decision.action, request.state)
        if self.journal is not None:
            _record(self.journal, request, decision, decider.monitor)
        return postfix_action(decision)


def _record(journal: DecisionJournal, request: PolicyRequest, decision: Decision,
            monitor: bool) -> None:
    try:
        journal.note(request, decision, monitor=monitor)
    except Exception:  # the answer stands; only its record is missing
        log.exception("could not record the decision for %s", request.queue_id or "-")
