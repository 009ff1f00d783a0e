"""`chaperone demo`: a generated sample district, end to end."""

from __future__ import annotations

import typer

from chaperone.cli.context import AppContext
from chaperone.cli.output import line, table
from chaperone.demo import flow


def demo(
    ctx: typer.Context,
    seed: int = typer.Option(9052, help="Seed of the generated district."),
    students: int = typer.Option(2000, help="Number of students."),
    staff: int = typer.Option(150, help="Number of staff."),
    records: int = typer.Option(200_000, help="Number of communication records."),
) -> None:
    """Generate a district (three schools) and its traffic; import, ingest, audit, report."""
    context: AppContext = ctx.obj
    result = flow.run(context.settings, context.create_store(), seed=seed, students=students,
                      staff=staff, records=records, say=line)
    table("People", ["population", "active"], [[k, v] for k, v in result.people.items()])
    table("Ingested", ["source", "read", "stored", "duplicates", "quarantined"],
          [[r.kind, r.read, r.stored, r.duplicates, r.quarantined] for r in result.ingested])
    rows: list[list[object]] = [[rule, n] for rule, n in sorted(result.per_rule.items())]
    rows.append(["total", sum(result.per_rule.values())])
    table("Findings (Board Policy 9052)", ["rule", "findings"], rows)
    table("Planted in the generated traffic", ["kind", "records"],
          [[k, v] for k, v in sorted(result.planted.items())])
    table("Acknowledgment campaign 'Board Policy 9052 (demo)'",
          ["population", "people", "without e-mail"],
          [[p, t["people"], t["no_address"]] for p, t in result.campaign.items()])
    table("Time", ["step", "seconds"], [[k, f"{v:.1f}"] for k, v in result.seconds.items()])
    line(f"report: {result.report} (open it in a browser)")
