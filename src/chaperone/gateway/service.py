"""Building the gateway's Decider from the store, and running the service."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

import uvicorn

from chaperone.common.problems import ChaperoneError
from chaperone.gateway.decide import ACTIONS, Decider
from chaperone.gateway.http import create_app, decide_api_key
from chaperone.gateway.journal import DecisionJournal, JournalSettings
from chaperone.gateway.server import Limits, PolicyServer
from chaperone.judge import world
from chaperone.judge.rules import rule_windows
from chaperone.lake.writer import lake_path
from chaperone.policy import service as policy
from chaperone.settings import Settings
from chaperone.store.db import StoreNotReady, open_store

log = logging.getLogger("chaperone.gateway")
SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits (default 0.005)


def build_decider(settings: Settings) -> Decider:
    """The rules, directory and registry in force, loaded into memory."""
    store = open_store(settings)
    try:
        with store.transaction() as session:
            version = world.version(session)  # first: a change while loading reloads again
            audit_inputs = world.load(session)
            windows = rule_windows(policy.versions(session))
    finally:
        store.close()
    actions = {rule: action.upper() for rule, action in settings.gateway_actions.items()}
    unknown = sorted(set(actions.values()) - set(ACTIONS))
    if unknown:
        raise ValueError(f"unknown gateway action {unknown[0]} (one of {', '.join(ACTIONS)})")
    return Decider(audit_inputs, windows, actions, monitor=settings.gateway_mode == "monitor",
                   version=version)


def store_version(settings: Settings) -> tuple[object, ...]:
    """The version of what a Decider loads, as the store has it now."""
    store = open_store(settings)
    try:
        with store.transaction() as session:
            return world.version(session)
    finally:
        store.close()


async def watch(settings: Settings, server: PolicyServer) -> None:
    """Reload when the directory, registry, rules or exceptions change: every
    ``gateway_reload_seconds`` the store is asked for their version (one small query,
    off the event loop) and, if it is not the Decider's, a new one is built."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(settings.gateway_reload_seconds)
        try:
            current = await loop.run_in_executor(None, store_version, settings)
        except StoreNotReady as problem:  # deleted or mis-pointed: nothing is created
            log.error("%s; still serving the rules loaded before", problem)
            continue
        except Exception:  # the store is away for a moment: keep serving, ask again later
            log.exception("could not read the store's version; asking again later")
            continue
        if current != server.decider.version:
            log.info("the directory, registry, rules or exceptions changed: reloading")
            await server.reload()


def settle() -> None:
    """Tune the process for answers without pauses.

    What is loaded now (the directory, registry, rules and modules) lives as long as
    the service: frozen out of the garbage collector's sight, a full collection no
    longer walks it (tens of milliseconds without an answer). A shorter switch interval
    bounds how long the decision journal's flush thread can keep the event loop waiting.
    """
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL)


def journal_for(settings: Settings) -> DecisionJournal | None:
    """The decision journal the settings ask for (None when decisions are not recorded)."""
    if not settings.gateway_record_decisions:
        return None
    config = JournalSettings(flush_seconds=settings.gateway_flush_seconds,
                             flush_decisions=settings.gateway_flush_decisions,
                             publish_seconds=settings.gateway_publish_seconds)
    return DecisionJournal(lake_path(settings.home), config)


def run_loop(settings: Settings, main: Coroutine[Any, Any, None]) -> None:
    """Run the service's coroutine on the event loop the settings ask for: uvloop (the
    same asyncio API on libuv, with the socket work in C) unless it is not installed."""
    if settings.gateway_event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:  # not on this platform: the standard loop serves the same
            log.warning("uvloop is not installed; using the standard asyncio event loop")
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


def loop_name() -> str:
    """``uvloop`` or ``asyncio``: the event loop running, for the log."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"


def limits_of(settings: Settings) -> Limits:
    """The service's protections from the settings."""
    return Limits(idle_seconds=settings.gateway_idle_seconds,
                  max_connections=settings.gateway_max_connections,
                  fail_action=settings.gateway_fail_action)


def policy_server(settings: Settings) -> tuple[PolicyServer, DecisionJournal | None]:
    """A policy server with the Decider in force and its decision journal, settled."""
    journal = journal_for(settings)
    server = PolicyServer(build_decider(settings), limits_of(settings),
                          reload=lambda: build_decider(settings), journal=journal)
    settle()
    return server, journal


def stop_on_signals(loop: asyncio.AbstractEventLoop) -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    return stop


def http_task(http: str, server: PolicyServer, api_key: bytes | None) -> asyncio.Future[Any]:
    """The HTTP decision endpoint on HOST:PORT, answering with the server's Decider the
    callers that hold the API key (refused without one: the answers say who is a student)."""
    if api_key is None:
        raise ChaperoneError("gateway --http needs decide_api_key_file (the decision API's key)")
    host, _, port = http.rpartition(":")
    config = uvicorn.Config(create_app(lambda: server.decider, api_key),
                            host=host or "127.0.0.1",
                            port=int(port), log_level="warning")
    log.info("decision API on http://%s/api/v1/decide", http)
    return asyncio.ensure_future(uvicorn.Server(config).serve())


async def serve_until_stopped(server: PolicyServer, journal: DecisionJournal | None,
                              stop: asyncio.Event,
                              tasks: list[asyncio.Future[Any]] | None = None) -> None:
    """Serve (SIGHUP reloads) until ``stop`` or a task ends; then close every connection
    and record every decision the journal holds."""
    loop = asyncio.get_running_loop()
    server.install_reload(loop)
    tasks = [*(tasks or []), asyncio.ensure_future(stop.wait())]
    if journal is not None:
        journal.start()
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if journal is not None:
            await journal.close()
            log.info("decision records: %d spooled, %d published", journal.spooled,
                     journal.published)


async def run(settings: Settings, listen: str, http: str | None = None) -> None:
    """Serve in this process until SIGTERM or SIGINT; SIGHUP reloads the directory and
    registry. On the way out every decision held is recorded."""
    stop = stop_on_signals(asyncio.get_running_loop())
    server, journal = policy_server(settings)
    listener = await server.serve(listen)
    log.info("chaperone gateway listening on %s (%s mode, %s)", listen, settings.gateway_mode,
             loop_name())
    tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(listener.serve_forever()),
                                        asyncio.ensure_future(watch(settings, server))]
    if http:
        tasks.append(http_task(http, server, decide_api_key(settings)))
    try:
        await serve_until_stopped(server, journal, stop, tasks)
    finally:
        listener.close()
