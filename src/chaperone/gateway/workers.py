"""The policy service in several processes: one acceptor hands connections to workers.

Python runs one request at a time per process, so on a machine with spare cores
``gateway_workers`` > 1 serves Postfix from that many worker processes:

* the acceptor (this process) listens, accepts each connection and passes the socket
  to the worker that serves the fewest (over a Unix socket pair, ``SCM_RIGHTS``); it
  answers no policy request itself, and serves the HTTP decision endpoint if asked;
* each worker (``python -m chaperone.gateway.workers``, started with its end of the
  pair) builds its own Decider and decision journal and serves its connections as the
  single-process service does; it tells the acceptor when one closes.

A connection stays with one worker for its life, so the RCPT and END-OF-MESSAGE
requests of one Postfix ``instance`` meet in one place. SIGHUP is passed on to every
worker (each reloads); SIGTERM stops the acceptor, then the workers, each spooling its
decisions. A worker that dies is started again (its connections are lost; Postfix
reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaperone.common.problems import ChaperoneError
from chaperone.gateway import service
from chaperone.gateway.http import decide_api_key
from chaperone.gateway.server import PolicyConnection, PolicyServer
from chaperone.settings import Settings

log = logging.getLogger("chaperone.gateway")

CLOSED = b"-"  # worker -> acceptor: one of my connections closed
READY = b"R"  # worker -> acceptor: my Decider is built, I am serving
MAX_FAILED_STARTS = 3  # workers in a row that end before they are ready: give up
WORKER = (sys.executable, "-m", "chaperone.gateway.workers")  # + the pair's fd and the slot
RESTART_SECONDS = 1.0  # at most one start of a worker's slot per this long
_running: set[asyncio.Future[object]] = set()  # tasks nothing else holds on to


def _keep(awaitable: Awaitable[object]) -> None:
    """Run in the background, held until done."""
    task = asyncio.ensure_future(awaitable)
    _running.add(task)
    task.add_done_callback(_running.discard)


@dataclass
class Worker:
    """One worker process as the acceptor sees it."""

    slot: int
    channel: socket.socket  # the acceptor's end of the pair
    process: asyncio.subprocess.Process
    connections: int = 0
    ready: bool = False
    started: float = field(default_factory=time.monotonic)


def listening_socket(listen: str) -> socket.socket:
    """The listening socket for ``inet:HOST:PORT`` or ``unix:PATH``."""
    kind, _, where = listen.partition(":")
    if kind == "unix":
        path = Path(where)
        if path.is_socket():  # left by an earlier run
            path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(where)
        sock.listen(1024)
    else:
        host, _, port = where.rpartition(":")
        sock = socket.create_server((host or "127.0.0.1", int(port)), backlog=1024)
    sock.setblocking(False)
    return sock


class Acceptor:
    """Accepts connections and hands each to the least busy worker."""

    def __init__(self, settings: Settings, listener: socket.socket,
                 command: tuple[str, ...] = WORKER) -> None:
        self.settings = settings
        self.listener = listener
        self.command = command
        self.workers: list[Worker | None] = [None] * settings.gateway_workers
        self.stopping = False
        self.accepted = 0
        self.failed_starts = 0  # workers in a row that ended before they were ready
        self.failed = asyncio.Event()  # set when workers keep failing to start

    async def start(self) -> None:
        """Start every worker."""
        for slot in range(len(self.workers)):
            await self._start(slot)

    async def _start(self, slot: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = await asyncio.create_subprocess_exec(
            *self.command, str(theirs.fileno()), str(slot), pass_fds=[theirs.fileno()])
        theirs.close()
        ours.sendall(self.settings.model_dump_json().encode())  # the settings, first
        ours.setblocking(False)
        worker = Worker(slot, ours, process)
        self.workers[slot] = worker
        asyncio.get_running_loop().add_reader(ours.fileno(), self._heard, worker)
        _keep(self._watch(worker))
        log.info("worker %d started (pid %d)", slot, process.pid)

    def _heard(self, worker: Worker) -> None:
        try:
            message = worker.channel.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            message = b""
        if not message:  # the worker is gone; _watch starts another
            asyncio.get_running_loop().remove_reader(worker.channel.fileno())
            return
        if READY in message:
            worker.ready = True
            self.failed_starts = 0
        worker.connections = max(0, worker.connections - message.count(CLOSED))

    async def _watch(self, worker: Worker) -> None:
        code = await worker.process.wait()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(worker.channel.fileno())
        worker.channel.close()
        if self.workers[worker.slot] is worker:
            self.workers[worker.slot] = None
        if self.stopping:
            return
        if not worker.ready:
            self.failed_starts += 1
            if self.failed_starts >= MAX_FAILED_STARTS:
                log.error("%d workers in a row ended before serving (see above); stopping",
                          self.failed_starts)
                self.failed.set()
                return
        log.error("worker %d (pid %d) ended with %s; starting it again", worker.slot,
                  worker.process.pid, code)
        await asyncio.sleep(max(0.0, worker.started + RESTART_SECONDS - time.monotonic()))
        if not self.stopping:
            await self._start(worker.slot)

    async def serve(self) -> None:
        """Accept until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            connection, _address = await loop.sock_accept(self.listener)
            with connection:
                self._hand_over(connection)

    def _hand_over(self, connection: socket.socket) -> None:
        live = [w for w in self.workers if w is not None]
        if sum(w.connections for w in live) >= self.settings.gateway_max_connections:
            log.warning("connection refused: %d connections already",
                        self.settings.gateway_max_connections)
            return
        for worker in sorted(live, key=lambda w: w.connections):
            try:
                socket.send_fds(worker.channel, [b"+"], [connection.fileno()])
            except OSError as exc:
                log.warning("could not pass a connection to worker %d (%s)", worker.slot, exc)
                continue
            worker.connections += 1
            self.accepted += 1
            return
        log.error("no worker could take a connection; closed it")

    def signal_all(self, signum: int) -> None:
        """Pass a signal to every worker."""
        for worker in self.workers:
            if worker is not None and worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(signum)

    async def stop(self) -> None:
        """Stop the workers (each spools its decisions) and wait for them."""
        self.stopping = True
        self.signal_all(signal.SIGTERM)
        waiting = [w.process.wait() for w in self.workers if w is not None]
        await asyncio.gather(*waiting, return_exceptions=True)


# ---- a worker process ----


def worker_main(argv: list[str]) -> None:
    """``python -m chaperone.gateway.workers FD SLOT``: serve what the acceptor passes."""
    channel = socket.socket(fileno=int(argv[0]))
    slot = int(argv[1])
    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s %(name)s[{slot}] %(message)s")
    settings = Settings.model_validate_json(channel.recv(1 << 20))
    with contextlib.suppress(KeyboardInterrupt):
        service.run_loop(settings, serve_worker(settings, channel))


async def serve_worker(settings: Settings, channel: socket.socket) -> None:
    """Serve the connections the acceptor passes until SIGTERM or the acceptor is gone."""
    server, journal = service.policy_server(settings)
    loop = asyncio.get_running_loop()
    stop = service.stop_on_signals(loop)

    def closed() -> None:
        with contextlib.suppress(OSError):
            channel.send(CLOSED)

    def passed() -> None:
        try:
            message, fds, _flags, _address = socket.recv_fds(channel, 64, 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            message, fds = b"", []
        if not message and not fds:  # the acceptor is gone
            stop.set()
            return
        for fd in fds:
            connection = socket.socket(fileno=fd)
            _keep(loop.connect_accepted_socket(lambda: PolicyConnection(server), connection))

    server.on_close = closed
    channel.send(READY)
    channel.setblocking(False)
    loop.add_reader(channel.fileno(), passed)
    await service.serve_until_stopped(server, journal, stop,
                                      [asyncio.ensure_future(service.watch(settings, server))])


async def run(settings: Settings, listen: str, http: str | None = None) -> None:
    """The acceptor and ``gateway_workers`` workers until SIGTERM or SIGINT.

    The acceptor builds a Decider first, as each worker will: what keeps the store,
    registry or rules from loading is reported before anything listens. It keeps it only
    to serve the HTTP endpoint, if asked, and then reloads it as the workers reload.
    """
    decider = service.build_decider(settings)
    key = decide_api_key(settings) if http else None
    stop = service.stop_on_signals(asyncio.get_running_loop())
    if not http:
        del decider  # the workers load their own
        await supervise(settings, listen, [], stop, None)
        return
    holder = PolicyServer(decider, service.limits_of(settings),
                          reload=lambda: service.build_decider(settings))
    extra = [service.http_task(http, holder, key),
             asyncio.ensure_future(service.watch(settings, holder))]
    await supervise(settings, listen, extra, stop, holder)


async def supervise(settings: Settings, listen: str, extra: list[asyncio.Future[Any]],
                    stop: asyncio.Event, reload: PolicyServer | None,
                    command: tuple[str, ...] = WORKER) -> None:
    """The acceptor's life: start the workers, accept until ``stop``, stop the workers."""
    acceptor = Acceptor(settings, listening_socket(listen), command)
    await acceptor.start()
    loop = asyncio.get_running_loop()

    def hangup() -> None:
        acceptor.signal_all(signal.SIGHUP)
        if reload is not None:
            _keep(reload.reload())

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGHUP, hangup)
    log.info("chaperone gateway listening on %s (%s mode, %d workers, %s)", listen,
             settings.gateway_mode, settings.gateway_workers, service.loop_name())
    accepting = asyncio.ensure_future(acceptor.serve())
    failed = asyncio.ensure_future(acceptor.failed.wait())
    tasks: list[asyncio.Future[Any]] = [accepting, asyncio.ensure_future(stop.wait()), failed,
                                        *extra]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if failed.done():
            raise ChaperoneError("the gateway's workers could not start (see the log above)")
    finally:
        acceptor.listener.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await acceptor.stop()
        log.info("workers stopped; %d connections were handed to them", acceptor.accepted)


if __name__ == "__main__":  # pragma: no cover - a worker process
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    worker_main(sys.argv[1:])
