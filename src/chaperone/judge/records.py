"""The rules over records one at a time in Python, giving the SQL engines' rows.

The per-record path of the judge: the gateway judges one message this way, and the
property tests hold it to the SQL path, row for row and verdict for verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chaperone.judge.conditions import column_name
from chaperone.judge.facts import FactsIndex, record_facts
from chaperone.judge.rules import RuleWindow
from chaperone.judge.world import World

META = ("record_id", "message_id", "occurred_at", "sender", "recipients", "source_ref")


def matched_rows(records: Iterable[Mapping[str, Any]], world: World,
                 windows: list[RuleWindow]) -> list[dict[str, Any]]:
    """Facts rows that match a rule, keyed by the facts' column names as the SQL rows are."""
    rows = []
    index = FactsIndex(world)
    for record in records:
        for facts in record_facts(record, world, index):
            flags = {w.column: w.test(facts) for w in windows}
            if any(flags.values()):
                row = {column_name(k): v for k, v in facts.items()}
                row.update({name: record.get(name) for name in META}, **flags)
                rows.append(row)
    return rows
