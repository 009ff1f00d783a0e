"""`chaperone exceptions …`: time-limited, audited exceptions to the rules."""

from __future__ import annotations

import datetime as dt

import typer
from sqlalchemy import select

from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.common.problems import ChaperoneError
from chaperone.grants import service
from chaperone.store.models import PolicyException

app = typer.Typer(
    help="Time-limited exceptions, honoured by the audit and the gateway.", no_args_is_help=True
)


def _day(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ChaperoneError(f'{name}: "{value}" is not a date (YYYY-MM-DD)') from exc


@app.command("grant")
def grant(
    ctx: typer.Context,
    person: str = typer.Argument(..., help="The staff member the exception is for."),
    starts: str = typer.Option(..., "--from", help="First local day (YYYY-MM-DD)."),
    ends: str = typer.Option(..., "--until", help="Last local day (YYYY-MM-DD)."),
    reason: str = typer.Option(..., "--reason", help="Why, for the record."),
    granted_by: str = typer.Option(..., "--by", help="Who grants it."),
    counterpart: str | None = typer.Option(None, "--with", help="Only with this person."),
    population: str | None = typer.Option(
        None, "--population", help="Only with people of this population (e.g. parent)."
    ),
    channels: list[str] = typer.Option([], "--channel", help="Only these channel types."),
    rule_id: str | None = typer.Option(None, "--rule", help="Only this rule."),
) -> None:
    """Grant an exception (e.g. a coach texting parents during an away tournament)."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        row = service.grant(
            session,
            person_id=person,
            starts_on=_day(starts, "--from"),
            ends_on=_day(ends, "--until"),
            reason=reason,
            granted_by=granted_by,
            counterpart=counterpart,
            population=population,
            channels=channels,
            rule_id=rule_id,
        )
        number = row.id
    line(f"exception {number} granted to {person} from {starts} until {ends}")


@app.command("list")
def list_exceptions(
    ctx: typer.Context, fmt: Format = typer.Option(Format.text, "--format")
) -> None:
    """Every exception, granted and revoked."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        rows = list(session.scalars(select(PolicyException).order_by(PolicyException.id)))
        data = [
            {
                "id": r.id,
                "person_id": r.person_id,
                "with": r.counterpart_person_id or r.counterpart_population or "anyone",
                "channels": r.channel_types or "any",
                "rule": r.rule_id or "any",
                "from": str(r.starts_on),
                "until": str(r.ends_on),
                "reason": r.reason,
                "granted_by": r.granted_by,
                "revoked": r.revoked_at.isoformat() if r.revoked_at else "",
            }
            for r in rows
        ]
    if fmt is Format.json:
        emit_json(data)
        return
    table("Exceptions", list(data[0]) if data else ["id"], [list(d.values()) for d in data])


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    exception_id: int = typer.Argument(...),
    revoked_by: str = typer.Option(..., "--by", help="Who revokes it."),
) -> None:
    """End an exception now; it stays on record."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        service.revoke(session, exception_id, revoked_by=revoked_by)
    line(f"exception {exception_id} revoked")
