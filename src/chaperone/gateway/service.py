"""Building the gateway's Decider from the store, and running the service."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from chaperone.audit import inputs
from chaperone.audit.query import rule_windows
from chaperone.gateway.decide import ACTIONS, Decider
from chaperone.gateway.http import create_app
from chaperone.gateway.server import Limits, PolicyServer
from chaperone.policy import service as policy
from chaperone.settings import Settings
from chaperone.store.db import open_store

log = logging.getLogger("chaperone.gateway")


def build_decider(settings: Settings) -> Decider:
    """The rules, directory and registry in force, loaded into memory."""
    store = open_store(settings)
    try:
        with store.transaction() as session:
            audit_inputs = inputs.load(session)
            windows = rule_windows(policy.versions(session))
    finally:
        store.close()
    actions = {rule: action.upper() for rule, action in settings.gateway_actions.items()}
    unknown = sorted(set(actions.values()) - set(ACTIONS))
    if unknown:
        raise ValueError(f"unknown gateway action {unknown[0]} (one of {', '.join(ACTIONS)})")
    return Decider(audit_inputs, windows, actions, monitor=settings.gateway_mode == "monitor")


async def run(settings: Settings, listen: str, http: str | None = None) -> None:
    """Serve until cancelled; SIGHUP reloads the directory and registry."""
    limits = Limits(idle_seconds=settings.gateway_idle_seconds,
                    max_connections=settings.gateway_max_connections,
                    fail_action=settings.gateway_fail_action)
    server = PolicyServer(build_decider(settings), limits, reload=lambda: build_decider(settings))
    listener = await server.serve(listen)
    server.install_reload(asyncio.get_running_loop())
    log.info("chaperone gateway listening on %s (%s mode)", listen, settings.gateway_mode)
    tasks = [listener.serve_forever()]
    if http:
        host, _, port = http.rpartition(":")
        config = uvicorn.Config(create_app(lambda: server.decider), host=host or "127.0.0.1",
                                port=int(port), log_level="warning")
        tasks.append(uvicorn.Server(config).serve())
        log.info("decision API on http://%s/api/v1/decide", http)
    async with listener:
        await asyncio.gather(*tasks)
