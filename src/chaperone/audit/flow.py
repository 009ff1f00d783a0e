"""One audit: inputs → engine → findings → store (or, for a dry run, only the counts).

The store is held only while it is read at the start and while findings are saved, in short
transactions of a batch each (`findings.save`): on SQLite a write holds the one write lock,
so an audit must never keep it for the minutes the engine runs, nor for a whole save.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaperone.audit import duckdb_engine, findings
from chaperone.common.problems import ChaperoneError
from chaperone.judge import world
from chaperone.judge.rules import RuleWindow, rule_windows
from chaperone.lake import decisions
from chaperone.lake.layout import LakeLayout
from chaperone.policy import loader
from chaperone.policy import service as policy
from chaperone.registry.service import require_current
from chaperone.store.db import Store
from chaperone.store.models import AuditRun

Engine = Callable[
    [LakeLayout, world.World, list[RuleWindow], dt.date | None, dt.date | None],
    list[dict[str, Any]],
]


ENGINES = ("duckdb", "spark")


def _engine(name: str, spark_master: str, memory_limit: str | None) -> Engine:
    """The engine's run function; PySpark is imported only when Spark is asked for."""
    if name == "duckdb":
        return functools.partial(duckdb_engine.run, memory_limit=memory_limit)
    from chaperone.audit import spark_engine

    return functools.partial(spark_engine.run, master=spark_master)


@dataclass
class AuditSummary:
    """What an audit found, per rule, and what saving it changed."""

    engine: str
    since: dt.date | None
    until: dt.date | None
    policy_versions: list[str]
    per_rule: dict[str, int] = field(default_factory=dict)
    total: int = 0
    added: int = 0
    withdrawn: int = 0
    dry_run: bool = False


def run(
    store: Store,
    layout: LakeLayout,
    *,
    engine: str = "duckdb",
    since: dt.date | None = None,
    until: dt.date | None = None,
    dry_run: bool = False,
    draft: Path | None = None,
    spark_master: str = "local[*]",
    memory_limit: str | None = None,
) -> AuditSummary:
    """Audit the lake; save findings unless this is a dry run (a draft pack implies one).
    An audit stopped while saving leaves the batches saved so far; running it again completes
    them (saving is idempotent) and records the run."""
    if engine not in ENGINES:
        raise ChaperoneError(f'unknown engine "{engine}" (duckdb or spark)')
    with store.reading() as session:
        packs = [loader.load_file(draft)] if draft else policy.versions(session)
        windows = rule_windows(packs)
        view = require_current(session)
        audit_inputs = world.load(session, view)
    rows = _engine(engine, spark_master, memory_limit)(layout, audit_inputs, windows, since, until)
    new = _stopped_at_gateway(layout, findings.build(windows, rows, audit_inputs))
    summary = AuditSummary(
        engine,
        since,
        until,
        sorted({w.pack.spec.version for w in windows}),
        per_rule=dict(Counter(f.rule_id for f in new)),
        total=len(new),
        dry_run=dry_run or draft is not None,
    )
    if summary.dry_run:
        return summary
    saved = findings.save(
        store, new, rule_ids={w.rule.id for w in windows}, since=since, until=until
    )
    summary.added, summary.withdrawn = saved.added, saved.withdrawn
    with store.transaction() as session:
        session.add(AuditRun(
            engine=engine,
            since=since,
            until=until,
            registry_sha256=_registry_digest(view.registry.model_dump(mode="json")),
            findings=saved.total,
            added=saved.added,
            withdrawn=saved.withdrawn,
        ))
    return summary


def _stopped_at_gateway(
    layout: LakeLayout, found: list[findings.NewFinding]
) -> list[findings.NewFinding]:
    """Findings on mail the gateway stopped say so (their records came from the gateway)."""
    days = {
        f.record_id: f.occurred_at.astimezone(dt.UTC).date()
        for f in found
        if f.source_ref.startswith("gateway:")
    }
    actions = decisions.stopped_actions(layout, days) if days else {}
    return [
        dataclasses.replace(f, verdict=f.verdict.stopped_by(actions[f.record_id]))
        if f.record_id in actions
        else f
        for f in found
    ]


def _registry_digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
