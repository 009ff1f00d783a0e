"""`chaperone serve`: the web application."""

from __future__ import annotations

import os

import typer

from chaperone.cli.context import AppContext


def serve(
    ctx: typer.Context,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (put a TLS proxy in front)."
    ),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    access_log: bool = typer.Option(
        False,
        "--access-log/--no-access-log",
        help="Log every request line (off by default: URLs can carry names searched for;"
        " the audit log records every view).",
    ),
) -> None:
    """Serve the web application (review, cases, directory, registry, audit log)."""
    import uvicorn

    from chaperone.web.app import create_app

    context: AppContext = ctx.obj
    common = {
        "host": host,
        "port": port,
        # X-Forwarded-For and -Proto are believed only from the configured proxies
        # (uvicorn's default trusts any client on 127.0.0.1)
        "proxy_headers": bool(context.settings.trusted_proxies),
        "forwarded_allow_ips": list(context.settings.trusted_proxies),
        "access_log": access_log,
        "server_header": False,
        "log_level": "info",
    }
    if workers > 1:  # each worker process builds the app from the same environment
        os.environ["CHAPERONE_HOME"] = str(context.settings.home)
        context.store()  # a missing or outdated store stops here, in one line
        uvicorn.run("chaperone.web.app:from_environment", factory=True, workers=workers, **common)  # type: ignore[arg-type]
        return
    uvicorn.run(create_app(context.settings, context.store()), **common)  # type: ignore[arg-type]
