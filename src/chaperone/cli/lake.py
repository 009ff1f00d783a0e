"""`chaperone lake compact`: merge the lake's small files; `lake stats`: how its files look."""

from __future__ import annotations

import typer

from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.lake.compact import CompactReport, compact, stats
from chaperone.lake.writer import lake_path

app = typer.Typer(help="Look after the Parquet lake.", no_args_is_help=True)


@app.command("compact")
def compact_command(
    ctx: typer.Context,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what would be merged; change nothing."
    ),
    wait: float = typer.Option(
        300.0, "--wait", min=0, help="Seconds to wait for writers, then readers, before giving up."
    ),
    fmt: Format = typer.Option(Format.text, "--format", help="text or json."),
) -> None:
    """Merge each partition's small files into few, while readers may be reading."""
    context: AppContext = ctx.obj
    settings = context.settings
    report = compact(
        lake_path(settings.home),
        target_mb=settings.lake_compact_target_mb,
        wait=wait,
        dry_run=dry_run,
    )
    _print(report, fmt)


def _print(report: CompactReport, fmt: Format) -> None:
    if fmt is Format.json:
        emit_json(report.as_dict())
        return
    table(
        "Would compact" if report.dry_run else "Compacted",
        ["area", "partitions", "files", "rows"],
        [
            [a.area, a.partitions, f"{a.files_before} → {a.files_after}", a.rows]
            for a in report.areas
        ],
    )
    if report.dry_run:
        line(f"dry run (target {report.target_mb:g} MB): nothing was changed")
    else:
        line(f"target {report.target_mb:g} MB, {report.seconds:.2f} s")


@app.command("stats")
def stats_command(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.text, "--format", help="text or json."),
) -> None:
    """Files, rows and file sizes per area: many small files call for `lake compact`."""
    context: AppContext = ctx.obj
    found = stats(lake_path(context.settings.home))
    if fmt is Format.json:
        emit_json([vars(s) for s in found])
        return
    table(
        "Lake",
        ["area", "partitions", "files", "rows", "smallest MB", "median MB", "largest MB"],
        [
            [s.area, s.partitions, s.files, s.rows, s.smallest_mb, s.median_mb, s.largest_mb]
            for s in found
        ],
    )
