"""`chaperone ingest KIND PATH...`: every silo into the lake; `ingest quarantine` shows rejects."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, table
from chaperone.common.problems import ChaperoneError
from chaperone.ingest.connectors import CONNECTORS
from chaperone.ingest.context import IngestContext
from chaperone.ingest.flow import SourceReport, ingest
from chaperone.lake.query import quarantine_rows
from chaperone.lake.writer import lake_path

app = typer.Typer(
    help="Bring communication records from every silo into the lake.", no_args_is_help=True
)


def ingest_context(context: AppContext, platform: str | None) -> IngestContext:
    """District conventions from the registry (or settings) and limits from settings."""
    settings = context.settings
    view = context.registry()
    return IngestContext(
        region=view.registry.district.default_region if view else settings.default_region,
        timezone=view.registry.district.timezone if view else settings.timezone,
        max_message_bytes=settings.ingest_max_message_bytes,
        max_nesting=settings.ingest_max_nesting,
        max_parts=settings.ingest_max_parts,
        platform=platform,
    )


def _command(kind: str, description: str) -> None:
    def run(
        ctx: typer.Context,
        paths: list[Path] = typer.Argument(..., help="Files or folders to ingest."),
        fmt: Format = typer.Option(Format.text, "--format", help="text or json."),
        platform: str | None = typer.Option(
            None, "--platform", help="Registry platform id these records were sent on."
        ),
        force: bool = typer.Option(False, "--force", help="Read sources already ingested again."),
    ) -> None:
        context: AppContext = ctx.obj
        reports = _run(kind, paths, context, ingest_context(context, platform), fmt, force)
        _print(reports, fmt)
        if any(r.status == "failed" for r in reports):
            raise typer.Exit(1)

    run.__doc__ = f"{description[:1].upper()}{description[1:]}."
    app.command(kind)(run)


def _run(
    kind: str,
    paths: list[Path],
    context: AppContext,
    ingest_ctx: IngestContext,
    fmt: Format,
    force: bool,
) -> list[SourceReport]:
    layout = lake_path(context.settings.home)
    size = context.settings.ingest_batch_size
    if fmt is Format.json:
        return ingest(kind, paths, layout=layout, context=ingest_ctx, force=force, batch_size=size)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"ingest {kind}", total=None)
        return ingest(
            kind,
            paths,
            layout=layout,
            context=ingest_ctx,
            force=force,
            progress=lambda n: bar.advance(task, n),
        )


def _print(reports: list[SourceReport], fmt: Format) -> None:
    unbalanced = [r for r in reports if not r.balanced]
    if unbalanced:  # the accounting identity is a promise; breaking it is a bug
        raise ChaperoneError(f"accounting does not reconcile for {unbalanced[0].source}")
    if fmt is Format.json:
        emit_json({"sources": [r.as_dict() for r in reports], "totals": _totals(reports)})
        return
    rows: list[list[object]] = [
        [Path(r.source).name, r.status, *(getattr(r, key) for key in COUNTS)] for r in reports
    ]
    totals = _totals(reports)
    rows.append(["total", "", *(totals[key] for key in COUNTS)])
    table("Ingested", ["source", "status", *COUNTS], rows)
    for report in reports:
        if report.error:
            typer.echo(f"error: {report.source}: {report.error}", err=True)


COUNTS = ("read", "stored", "merged", "duplicates", "quarantined")


def _totals(reports: list[SourceReport]) -> dict[str, int]:
    return {key: sum(getattr(r, key) for r in reports) for key in COUNTS}


for _kind, _connector in CONNECTORS.items():
    _command(_kind, _connector.description)


@app.command("quarantine")
def quarantine(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.text, "--format", help="text or json."),
    limit: int = typer.Option(200, "--limit", help="Show at most this many (newest first)."),
) -> None:
    """What could not become a record: source, position and reason."""
    context: AppContext = ctx.obj
    rows = quarantine_rows(lake_path(context.settings.home), limit=limit)
    if fmt is Format.json:
        emit_json(rows)
        return
    table(
        "Quarantine",
        ["when", "kind", "source", "position", "reason"],
        [
            [
                f"{r['quarantined_at']:%Y-%m-%d %H:%M}",
                r["source_kind"],
                Path(str(r["source"])).name,
                r["position"],
                r["reason"],
            ]
            for r in rows
        ],
    )
