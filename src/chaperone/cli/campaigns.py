"""`chaperone campaigns …`: acknowledgment campaigns for Policy 9052 §D."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import select

from chaperone.acknowledge import campaigns, delivery
from chaperone.acknowledge.export import OUTSTANDING_COLUMNS, outstanding_row, write_csv
from chaperone.audit_log import service as trail
from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.common.csvfile import CsvTable
from chaperone.common.problems import ChaperoneError, InputError, Problem
from chaperone.store.models import Campaign, Person

app = typer.Typer(
    help="Acknowledgment campaigns: everyone Policy 9052 reaches reads it and says so.",
    no_args_is_help=True,
)

SHOWN = OUTSTANDING_COLUMNS[:6]  # the text table's columns


class ListFormat(StrEnum):
    """Output formats of a list of people."""

    text = "text"
    csv = "csv"
    json = "json"


def _day(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ChaperoneError(f'{name}: "{value}" is not a date (YYYY-MM-DD)') from exc


def _say(fmt: Format, text: str, data: dict[str, object]) -> None:
    """What a command did: one line for people, one JSON object for scripts."""
    if fmt is Format.json:
        emit_json(data)
    else:
        line(text)


def _required_day(value: str, name: str) -> dt.date:
    day = _day(value, name)
    assert day is not None
    return day


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help='e.g. "Policy 9052, 2026-27".'),
    due: str = typer.Option(..., "--due", help="Last day to acknowledge (YYYY-MM-DD)."),
    created_by: str = typer.Option(..., "--by", help="Who runs the campaign."),
    populations: list[str] = typer.Option(
        [], "--population", help="Only these populations (default: all six of §D)."
    ),
    schools: list[str] = typer.Option([], "--school", help="Only people of these schools."),
    opens: str | None = typer.Option(None, "--opens", help="First day (default today)."),
    policy: str = typer.Option("9052", "--policy", help="The policy to acknowledge."),
    version: str | None = typer.Option(
        None, "--version", help="Its version (default: the one in force when it opens)."
    ),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """Start a campaign: a notice for everyone it must reach, each with a private link."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        campaign, synced = campaigns.create(
            session,
            name=name,
            due_on=_required_day(due, "--due"),
            created_by=created_by,
            populations=populations,
            schools=schools,
            opens_on=_day(opens, "--opens"),
            policy=policy,
            policy_version=version,
        )
        summary = campaigns.status(session, campaign)
        number, version_used = campaign.id, campaign.policy_version
    _say(
        fmt,
        f"campaign {number} created (policy {policy} version {version_used}): "
        f"{synced.added} people, {summary.total.no_address} without an e-mail address",
        {
            "id": number,
            "policy_version": version_used,
            "people": synced.added,
            "no_address": summary.total.no_address,
        },
    )


@app.command("list")
def list_campaigns(ctx: typer.Context, fmt: Format = typer.Option(Format.text, "--format")) -> None:
    """Every campaign with its progress."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        data = [
            {**_describe(c), **campaigns.status(session, c).total.as_dict()}
            for c in campaigns.every(session)
        ]
    if fmt is Format.json:
        emit_json(data)
        return
    columns = ["id", "name", "policy", "due_on", "people", "acknowledged", "percent", "closed"]
    table("Campaigns", columns, [[d[c] for c in columns] for d in data])


def _describe(campaign: Campaign) -> dict[str, object]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "policy": f"{campaign.policy} {campaign.policy_version}",
        "populations": campaigns.populations_of(campaign),
        "schools": campaigns.schools_of(campaign),
        "opens_on": str(campaign.opens_on),
        "due_on": str(campaign.due_on),
        "created_by": campaign.created_by,
        "closed": campaign.closed_at.isoformat() if campaign.closed_at else "",
    }


@app.command("status")
def status(
    ctx: typer.Context,
    campaign_id: int = typer.Argument(...),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """Progress overall, per population and per school."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        campaign = campaigns.get(session, campaign_id)
        found = campaigns.status(session, campaign)
        about = _describe(campaign)
    if fmt is Format.json:
        emit_json(
            {
                **about,
                "total": found.total.as_dict(),
                "populations": {k: v.as_dict() for k, v in found.populations.items()},
                "schools": {k: v.as_dict() for k, v in found.schools.items()},
                "withdrawn": found.withdrawn,
            }
        )
        return
    line(
        f"campaign {about['id']}: {about['name']} (policy {about['policy']}, due "
        f"{about['due_on']}){'; closed' if about['closed'] else ''}"
    )
    columns = ["people", "acknowledged", "outstanding", "percent", "sent", "no_address"]
    for title, groups in (("By population", found.populations), ("By school", found.schools)):
        rows = [[key, *(tally.as_dict()[c] for c in columns)] for key, tally in groups.items()]
        rows.append(["all", *(found.total.as_dict()[c] for c in columns)])
        table(title, [title.split()[-1], *columns], rows)
    if found.withdrawn:
        line(f"{found.withdrawn} notice(s) withdrawn: those people left the campaign's audience")


@app.command("sync")
def sync(
    ctx: typer.Context,
    campaign_id: int = typer.Argument(...),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """Add people who joined since (new staff, new students); withdraw those who left."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        synced = campaigns.sync(session, campaigns.get(session, campaign_id))
    _say(
        fmt,
        f"{synced.added} added, {synced.withdrawn} withdrawn, {synced.restored} back",
        asdict(synced),
    )


@app.command("send")
def send(
    ctx: typer.Context,
    campaign_id: int = typer.Argument(...),
    remind: bool = typer.Option(
        False,
        "--remind",
        help="Also remind those who have not acknowledged (after ack_remind_days).",
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    actor: str = typer.Option("cli", "--by", help="Who sends, for the audit log."),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """Send the notices not sent yet through the district's mail relay."""
    context: AppContext = ctx.obj
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("sending notices", total=None)
        result = delivery.send(
            context.store(),
            context.settings,
            campaign_id,
            remind=remind,
            limit=limit,
            actor=actor,
            progress=lambda n: bar.advance(task, n),
        )
    _say(
        fmt,
        f"{result.sent} sent, {result.refused} refused by the relay, "
        f"{result.no_address} without an e-mail address"
        + (f", {result.waiting} not due for a reminder yet" if remind else ""),
        asdict(result),
    )


@app.command("outstanding")
def outstanding(
    ctx: typer.Context,
    campaign_id: int = typer.Argument(...),
    actor: str = typer.Option(..., "--by", help="Who asks, for the audit log."),
    fmt: ListFormat = typer.Option(ListFormat.text, "--format"),
    out: Path | None = typer.Option(None, "--out", help="Write to this file."),
) -> None:
    """Who has not acknowledged yet (for follow-up on paper); no links are shown."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        campaign = campaigns.get(session, campaign_id)
        notices = campaigns.outstanding(session, campaign)
        wanted = [n.person_id for n in notices]
        people = {
            p.person_id: p
            for p in session.scalars(select(Person).where(Person.person_id.in_(wanted)))
        }
        rows = [outstanding_row(n, people.get(n.person_id)) for n in notices]
        trail.record(
            session,
            actor=actor,
            action="export" if out else "view",
            object_type="campaign",
            object_id=str(campaign_id),
            person_ids=[n.person_id for n in notices],
            detail=f"outstanding list, {len(rows)} people",
        )
    _emit(rows, fmt, out)


def _emit(rows: list[dict[str, object]], fmt: ListFormat, out: Path | None) -> None:
    handle = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
    try:
        if fmt is ListFormat.csv:
            write_csv(handle, rows)
        elif fmt is ListFormat.json or out:
            handle.write(json.dumps(rows, indent=2) + "\n")
        else:
            table(
                "Outstanding",
                SHOWN,
                [[r[c] for c in SHOWN] for r in rows],
            )
    finally:
        if out:
            handle.close()
    if out:
        line(f"{len(rows)} people written to {out}")


@app.command("record")
def record(
    ctx: typer.Context,
    campaign_id: int = typer.Argument(...),
    people: list[str] = typer.Argument(None, help="Person ids who signed on paper."),
    recorded_by: str = typer.Option(..., "--by", help="Who records them."),
    signed_on: str | None = typer.Option(None, "--on", help="Day they signed (YYYY-MM-DD)."),
    file: Path | None = typer.Option(
        None, "--file", help="A CSV of person_id[,signed_on] rows (every bad row reported)."
    ),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """Record acknowledgments signed on paper."""
    day = _day(signed_on, "--on")
    entries: list[tuple[str, dt.date | None]] = [(p, day) for p in people or []]
    if file is not None:
        entries += _paper_rows(file, day)
    if not entries:
        raise ChaperoneError("name the people who signed, or give --file")
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        campaign = campaigns.get(session, campaign_id)
        recorded, already = campaigns.record_paper(
            session, campaign, entries, recorded_by=recorded_by
        )
    _say(
        fmt,
        f"{recorded} recorded, {already} had already acknowledged",
        {"recorded": recorded, "already": already},
    )


def _paper_rows(path: Path, default: dt.date | None) -> list[tuple[str, dt.date | None]]:
    if not path.is_file():
        raise ChaperoneError(f"{path}: no such file")
    sheet = CsvTable.read(path)
    sheet.require(["person_id"])
    entries: list[tuple[str, dt.date | None]] = []
    problems: list[Problem] = []
    for row in sheet.rows():
        person, signed = row.get("person_id"), row.get("signed_on")
        if not person:
            problems.append(Problem(sheet.source, row.line, "no person_id"))
            continue
        try:
            day = dt.date.fromisoformat(signed) if signed else default
        except ValueError:
            problems.append(Problem(sheet.source, row.line, f'signed_on "{signed}" is not a date'))
            continue
        entries.append((person, day))
    if problems:
        raise InputError(problems)
    return entries


@app.command("close")
def close(
    ctx: typer.Context,
    campaign_id: int = typer.Argument(...),
    closed_by: str = typer.Option(..., "--by", help="Who closes it."),
) -> None:
    """Close a campaign: links stop taking acknowledgments; the record stays."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        campaigns.close(session, campaigns.get(session, campaign_id), closed_by=closed_by)
    line(f"campaign {campaign_id} closed")
