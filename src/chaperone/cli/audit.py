"""`chaperone audit` and `chaperone findings export`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from chaperone.audit import export as exporter
from chaperone.audit import flow
from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.common.problems import ChaperoneError
from chaperone.lake.query import count_records
from chaperone.lake.writer import lake_path
from chaperone.policy import service as policy_service
from chaperone.registry.service import require_current
from chaperone.report.html import ReportContext, campaign_progress, render, write

findings_app = typer.Typer(help="Findings: what the audit found.", no_args_is_help=True)


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ChaperoneError(f'{name}: "{value}" is not a date (YYYY-MM-DD)') from exc


def audit(
    ctx: typer.Context,
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (in-process) or spark."),
    since: str | None = typer.Option(None, "--since", help="First local date to audit."),
    until: str | None = typer.Option(None, "--until", help="Last local date to audit."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count what would be found; save nothing."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", exists=True, dir_okay=False, help="A draft pack to dry-run instead."
    ),
    fmt: Format = typer.Option(Format.text, "--format", help="text or json."),
) -> None:
    """Audit the lake against the policy pack; every finding cites its clause."""
    context: AppContext = ctx.obj
    summary = flow.run(
        context.store(),
        lake_path(context.settings.home),
        engine=engine,
        since=_date(since, "--since"),
        until=_date(until, "--until"),
        spark_master=context.settings.spark_master,
        memory_limit=context.settings.audit_memory_limit,
        dry_run=dry_run,
        draft=policy,
    )
    if fmt is Format.json:
        emit_json(vars(summary))
        return
    title = "Dry run: would find" if summary.dry_run else "Findings"
    rows: list[list[object]] = [[rule, count] for rule, count in sorted(summary.per_rule.items())]
    rows.append(["total", summary.total])
    table(
        f"{title} (policy {', '.join(summary.policy_versions)}, engine {summary.engine})",
        ["rule", "findings"],
        rows,
    )
    if not summary.dry_run:
        line(f"{summary.added} new, {summary.withdrawn} withdrawn")


@findings_app.command("export")
def export(
    ctx: typer.Context,
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    out: Path = typer.Option(..., "--out", help="File to write."),
) -> None:
    """Write active findings with the documented columns."""
    if fmt not in ("csv", "json"):
        raise ChaperoneError(f'--format must be csv or json, not "{fmt}"')
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        count = exporter.export(session, out, fmt)
    line(f"wrote {count} findings to {out}")


def report(
    ctx: typer.Context,
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write."),
) -> None:
    """Write one self-contained HTML report of the active findings, with charts."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        found = exporter.active_findings(session)
        view = require_current(session)
        versions = sorted({f.policy_version for f in found}) or [
            p.spec.version for p in policy_service.versions(session)][-1:]
        progress = campaign_progress(session)
    records = count_records(lake_path(context.settings.home))
    html = render(found, ReportContext(
        district=view.registry.district.name, policy="9052 (version " + ", ".join(versions) + ")",
        records=records, generated_at=dt.datetime.now(dt.UTC),
        platform_names={p.id: p.name for p in view.registry.platforms}, campaigns=progress))
    write(out, html)
    line(f"wrote {out} ({len(found)} findings)")
