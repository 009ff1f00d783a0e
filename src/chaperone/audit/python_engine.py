"""The Python engine: the same rules over records one at a time (the gateway's evaluator)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chaperone.audit.facts import FactsIndex, record_facts
from chaperone.audit.inputs import AuditInputs
from chaperone.audit.query import RuleWindow
from chaperone.policy.compiler import column_name
from chaperone.policy.evaluator import evaluate, is_candidate

META = ("record_id", "message_id", "occurred_at", "sender", "recipients", "source_ref")


def matches(window: RuleWindow, facts: Mapping[str, Any]) -> bool:
    """Whether one rule finds against the subject of one facts row (the rule compiled once)."""
    return window.test(facts)


def interpreted(window: RuleWindow, facts: Mapping[str, Any]) -> bool:
    """``matches`` by walking the rule's condition tree (the reference the tests hold it to)."""
    day = facts["local_date"]
    in_term = day >= window.start and (window.end is None or day < window.end)
    return in_term and is_candidate(window.rule.spec.subject, facts) and evaluate(
        window.rule.condition, facts
    )


def run(records: Iterable[Mapping[str, Any]], inputs: AuditInputs,
        windows: list[RuleWindow]) -> list[dict[str, Any]]:
    """Facts rows that match a rule, shaped like the SQL engines' rows."""
    rows = []
    index = FactsIndex(inputs)
    for record in records:
        for facts in record_facts(record, inputs, index):
            flags = {w.column: matches(w, facts) for w in windows}
            if any(flags.values()):
                row = {column_name(k): v for k, v in facts.items()}
                row.update({name: record.get(name) for name in META}, **flags)
                rows.append(row)
    return rows
