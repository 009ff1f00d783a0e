"""`chaperone gateway`: the Postfix policy service; `chaperone gateway decisions`: its records."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from typing import Any

import typer

from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.common.problems import ChaperoneError
from chaperone.gateway import service
from chaperone.gateway import workers as gateway_workers
from chaperone.lake import decisions
from chaperone.lake.writer import lake_path

VIEWS = ("decisions",)


def gateway(
    ctx: typer.Context,
    view: str | None = typer.Argument(
        None, metavar="[decisions]",
        help="decisions: list the newest decision records instead of serving.",
    ),
    listen: str = typer.Option(
        "inet:127.0.0.1:10040", "--listen", help="inet:HOST:PORT or unix:PATH"
    ),
    http: str | None = typer.Option(
        None, "--http", help="Also serve POST /api/v1/decide on HOST:PORT."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=64,
        help="Worker processes answering requests (default: the gateway_workers setting, 1).",
    ),
    limit: int = typer.Option(20, "--limit", min=1, help="decisions: how many to list."),
    stopped: bool = typer.Option(False, "--stopped", help="decisions: only mail it stopped."),
    since: str | None = typer.Option(None, "--since", help="decisions: from this UTC day."),
    weekly: bool = typer.Option(False, "--weekly", help="decisions: counts per week and action."),
    fmt: Format = typer.Option(Format.text, "--format", help="decisions: text or json."),
) -> None:
    """Answer Postfix policy requests (check_policy_service) with Policy 9052's rules."""
    context: AppContext = ctx.obj
    if view is not None:
        if view not in VIEWS:
            raise ChaperoneError(f'unknown gateway view "{view}" (decisions)')
        _decisions(context, limit=limit, stopped=stopped, since=_day(since), weekly=weekly,
                   fmt=fmt)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    context.store()  # a missing or outdated store stops here, in one line
    settings = context.settings
    if workers is not None:
        settings = settings.model_copy(update={"gateway_workers": workers})
    run = service.run if settings.gateway_workers == 1 else gateway_workers.run
    with contextlib.suppress(KeyboardInterrupt):
        service.run_loop(settings, run(settings, listen, http))


def _day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ChaperoneError(f'--since: "{value}" is not a date (YYYY-MM-DD)') from exc


def _decisions(context: AppContext, *, limit: int, stopped: bool, since: dt.date | None,
               weekly: bool, fmt: Format) -> None:
    layout = lake_path(context.settings.home)
    if weekly:
        counts = decisions.weekly(layout, since=since)
        if fmt is Format.json:
            emit_json(counts)
            return
        table("Gateway decisions per week (UTC, week starting)",
              ["week", "action", "mode", "stopped", "messages"],
              [[c["week"], c["action"], _mode(c["monitor"]), _yes(c["stopped"]), c["decisions"]]
               for c in counts])
        return
    rows = decisions.recent(layout, limit=limit, since=since, stopped_only=stopped)
    if fmt is Format.json:
        emit_json([_public(r) for r in rows])
        return
    if not rows:
        line("no decision records (is `chaperone gateway` recording them?)")
        return
    table("Newest gateway decisions (UTC)",
          ["time", "action", "mode", "sender", "recipients", "stopped", "rules", "queue id"],
          [[f"{r['occurred_at']:%Y-%m-%d %H:%M:%S}", r["action"], _mode(r["monitor"]), r["sender"],
            "; ".join(r["recipients"]), "; ".join(r["stopped_recipients"]),
            ", ".join(r["rule_ids"]), r["queue_id"] or ""] for r in rows])


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A decision for scripts: the decision columns that mean something for mail."""
    skipped = {"channel_type", "platform", "subject", "has_media", "attachment_count", "defects",
               "source_kind"}
    return {k: v for k, v in row.items() if k not in skipped}


def _mode(monitor: bool) -> str:
    return "monitor" if monitor else "enforce"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
