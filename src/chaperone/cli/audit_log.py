"""`chaperone audit-log …`: verify, checkpoint and read the keyed, hash-chained audit log."""

from __future__ import annotations

import typer

from chaperone.audit_log import service as trail
from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.common.problems import ChaperoneError

app = typer.Typer(help="The append-only, keyed, hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
def verify(ctx: typer.Context, fmt: Format = typer.Option(Format.text, "--format")) -> None:
    """Recompute the keyed chain, its record-of-access index and its checkpoints; exit 1
    naming the first bad entry when any entry was edited, inserted, deleted or re-ordered."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        check = trail.verify(session)
    if fmt is Format.json:
        emit_json(
            {
                "ok": check.ok,
                "entries": check.entries,
                "head_hash": check.head_hash,
                "checkpoints": check.checkpoints,
                "first_bad_entry": check.first_bad,
                "problems": list(check.problems),
            }
        )
    else:
        for problem in check.problems:
            line(problem)
        if check.ok:
            line(
                f"audit log intact: {check.entries} entries, head {check.head_hash},"
                f" {check.checkpoints} checkpoint(s) agree"
            )
    if not check.ok:
        where = f" from entry {check.first_bad}" if check.first_bad is not None else ""
        raise ChaperoneError(f"audit log tampered with{where}: {len(check.problems)} problem(s)")


@app.command("checkpoint")
def checkpoint(ctx: typer.Context, fmt: Format = typer.Option(Format.text, "--format")) -> None:
    """Verify the log, then write its head to the checkpoint file (and syslog)."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        mark = trail.checkpoint(session)
    if fmt is Format.json:
        emit_json({"at": mark.at.isoformat(), "seq": mark.seq, "mac": mark.mac})
    else:
        line(
            f"checkpoint written to {context.settings.audit_log_checkpoint_path}:"
            f" entry {mark.seq}, MAC {mark.mac}"
        )


@app.command("show")
def show(
    ctx: typer.Context,
    person: str | None = typer.Option(
        None, "--person", help="Only entries touching this person's data."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=100_000),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """The newest entries (per person: the FERPA record of access)."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        rows = [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "object": f"{e.object_type} {e.object_id}",
                "people": e.person_ids,
                "detail": e.detail,
            }
            for e in trail.entries(session, person_id=person, limit=limit)
        ]
    if fmt is Format.json:
        emit_json(rows)
        return
    table(
        "Audit log",
        ["#", "at", "actor", "action", "object", "people", "detail"],
        [list(r.values()) for r in rows],
    )
