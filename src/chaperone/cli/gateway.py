"""`chaperone gateway`: the Postfix policy service."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import typer

from chaperone.cli.context import AppContext
from chaperone.gateway import service


def gateway(
    ctx: typer.Context,
    listen: str = typer.Option(
        "inet:127.0.0.1:10040", "--listen", help="inet:HOST:PORT or unix:PATH"
    ),
    http: str | None = typer.Option(
        None, "--http", help="Also serve POST /api/v1/decide on HOST:PORT."
    ),
) -> None:
    """Answer Postfix policy requests (check_policy_service) with Policy 9052's rules."""
    context: AppContext = ctx.obj
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    context.store()  # migrate before serving
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(service.run(context.settings, listen, http))
