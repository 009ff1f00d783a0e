"""The policy service: asyncio, persistent connections, every request answered.

Each connection is an ``asyncio.Protocol``: requests (``name=value`` lines up to an
empty line) are cut from the bytes as they arrive and answered at once, with no task,
stream or coroutine per request. A request that is too large, cannot be parsed or
cannot be evaluated gets the fail-safe action and a log line; the connection stays up.
A connection that does not complete a request within ``idle_seconds`` is closed; at
most ``max_connections`` are served at once. Each answered request is noted in the
decision journal, which never delays the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

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
        self.answered = 0
        self.connections: set[PolicyConnection] = set()
        self.on_close: Callable[[], None] | None = None  # told when a connection closes

    async def serve(self, listen: str) -> asyncio.Server:
        """Start listening on ``inet:HOST:PORT`` or ``unix:PATH``."""
        loop = asyncio.get_running_loop()
        kind, _, where = listen.partition(":")
        if kind == "unix":
            return await loop.create_unix_server(lambda: PolicyConnection(self), path=where)
        host, _, port = where.rpartition(":")
        return await loop.create_server(lambda: PolicyConnection(self), host or "127.0.0.1",
                                        int(port))

    def close(self) -> None:
        """Close every open connection (at shutdown; Postfix reconnects to the next one)."""
        for connection in list(self.connections):
            connection.close()

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
        gc.freeze()  # the new directory lives long too (see service.settle)
        log.info("reloaded the directory and registry")

    def action(self, block: bytes, size: int) -> str:
        """The action for one request (the fail-safe one if it cannot be read or judged)."""
        try:
            if size > self.limits.max_request_bytes:
                raise BadRequest(f"request larger than {self.limits.max_request_bytes} bytes")
            request = parse(block)
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


class PolicyConnection(asyncio.Protocol):
    """One client: its requests cut from the bytes received and each answered at once."""

    def __init__(self, server: PolicyServer) -> None:
        self.server = server
        self.limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.pending = b""  # the start of the next request
        self.skipped = 0  # bytes of a too large request already thrown away
        self.deadline = 0.0  # when the request being read must be complete
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Serve the client, unless ``max_connections`` are served already."""
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if len(self.server.connections) >= self.limits.max_connections:
            log.warning("connection refused: %d connections already",
                        len(self.server.connections))
            transport.close()
            return
        self.server.connections.add(self)
        self.deadline = self.loop.time() + self.limits.idle_seconds
        self.timer = self.loop.call_at(self.deadline, self._idle)

    def data_received(self, data: bytes) -> None:
        """Answer every request the bytes complete; keep the rest for the next."""
        transport = self.transport
        assert transport is not None
        data = self.pending + data if self.pending else data
        end, after = request_end(data)
        if end >= 0:  # the next request has idle_seconds from now
            self.deadline = self.loop.time() + self.limits.idle_seconds
        while end >= 0:
            size = self.skipped + end
            block = data[:end] if size <= self.limits.max_request_bytes else b""
            transport.write(answer(self.server.action(block, size)))
            self.server.answered += 1
            data, self.skipped = data[after:], 0
            end, after = request_end(data)
        if len(data) > self.limits.max_request_bytes:  # keep only what may begin the empty line
            self.skipped += len(data) - 2
            data = data[-2:]
        self.pending = data

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the client (mid-request: nothing to answer)."""
        self.server.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
        if self.server.on_close is not None:
            self.server.on_close()

    def pause_writing(self) -> None:
        """A client that sends without reading its answers waits until it reads them."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        """The client read its answers: read its requests again."""
        if self.transport is not None:
            self.transport.resume_reading()

    def close(self) -> None:
        """Close the connection."""
        if self.transport is not None:
            self.transport.close()

    def _idle(self) -> None:
        """Close the connection when its request is overdue; otherwise look again later."""
        if self.loop.time() >= self.deadline:
            self.close()
        else:
            self.timer = self.loop.call_at(self.deadline, self._idle)


def request_end(data: bytes) -> tuple[int, int]:
    """Where the first request in ``data`` ends and the next begins; (-1, -1) if not yet."""
    if data[:1] == b"\n":
        return 0, 1
    if data[:2] == b"\r\n":
        return 0, 2
    lf = data.find(b"\n\n")
    if b"\r" not in data:  # as Postfix writes: no need to look for CRLF line ends
        return (lf, lf + 2) if lf >= 0 else (-1, -1)
    crlf = data.find(b"\n\r\n")
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 3
    return -1, -1


def _record(journal: DecisionJournal, request: PolicyRequest, decision: Decision,
            monitor: bool) -> None:
    try:
        journal.note(request, decision, monitor=monitor)
    except Exception:  # the answer stands; only its record is missing
        log.exception("could not record the decision for %s", request.queue_id or "-")
