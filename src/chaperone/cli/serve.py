"""`chaperone serve`: the web application."""

from __future__ import annotations

import typer

from chaperone.cli.context import AppContext


def serve(
    ctx: typer.Context,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (put a TLS proxy in front)."
    ),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
) -> None:
    """Serve the web application (review, cases, directory, registry, audit log)."""
    import uvicorn

    from chaperone.web.app import create_app

    context: AppContext = ctx.obj
    app = create_app(context.settings, context.store())
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        proxy_headers=True,
        server_header=False,
        log_level="info",
    )
