"""The gateway judges each kind of communication once: a remembered decision is the one
the rules give the record itself, whoever its parties are."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chaperone.gateway.decide import Decider, Decision
from chaperone.grants.service import Grant
from chaperone.judge.facts import record_facts
from chaperone.judge.rules import RuleWindow, rule_windows
from chaperone.judge.world import World
from chaperone.lake.schema import Record, stable_id
from chaperone.policy.loader import parse
from chaperone.policy.vocabulary import FIELDS
from tests.audit.test_evaluators_agree import ADDRESSES, WINDOWS, worlds

ACTIONS = st.sampled_from(["REJECT", "HOLD", "PREPEND", "WARN", "DUNNO"])
RULE_IDS = sorted({w.rule.id for w in WINDOWS})
TIMES = [dt.datetime(2026, 9, 1, hour, tzinfo=dt.UTC) for hour in range(0, 24, 4)] + [
    dt.datetime(2026, 8, 22, 12, tzinfo=dt.UTC), dt.datetime(2026, 9, 8, 12, tzinfo=dt.UTC)]


def every_record() -> list[Record]:
    """Each sender to each one recipient and to two, at hours on one day and on others,
    by email, text and image, with and without a platform: the kinds recur with other
    parties many times over."""
    pairs = [(s, (r,)) for s in ADDRESSES for r in ADDRESSES]
    pairs += [(s, (r, q)) for s, (r,) in pairs[::7] for q in ADDRESSES[::3]]
    return [
        Record(record_id=stable_id("t", str(n)), message_id=str(n), occurred_at=when,
               channel_type=channel, platform=platform, sender=sender, recipients=recipients,
               subject=None, has_media=channel == "image_sharing", attachment_count=0,
               source_kind="jsonl", source_ref=f"t#{n}")
        for n, (when, channel, platform, (sender, recipients)) in enumerate(
            itertools.product(TIMES, ["email", "text_message", "image_sharing"], [None, "p1"],
                              pairs))
    ]


EVERY_RECORD = every_record()


@st.composite
def worlds_with_exceptions(draw: st.DrawFn) -> World:
    """Random worlds, most with exceptions for staff (the rules' subjects) that apply."""
    world = draw(worlds())
    people = sorted(world.people)
    staff = [p for p in people if world.people[p].population == "staff"] or people
    world.exceptions = [
        Grant(i, draw(st.sampled_from(staff)), draw(st.none() | st.sampled_from(people)),
              draw(st.none() | st.sampled_from(["staff", "student", "parent"])),
              frozenset(draw(st.sampled_from([[], [], ["email"], ["text_message"]]))),
              draw(st.none() | st.none() | st.sampled_from(RULE_IDS)),
              dt.date(2026, 8, 20), dt.date(2026, 9, 5))
        for i in range(draw(st.integers(0, 3)))
    ]
    return world


def judged_alone(decider: Decider, record: Record) -> Decision:
    """The decision from the record's own facts rows, with nothing remembered."""
    fields = vars(record) | {"recipients": list(record.recipients),
                             "has_media": record.channel_type == "image_sharing"}
    return decider.judge_facts(record_facts(fields, decider.inputs))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # a failure shows as found
@given(world=worlds_with_exceptions(),
       actions=st.lists(ACTIONS, min_size=len(RULE_IDS), max_size=len(RULE_IDS)),
       monitor=st.booleans())
def test_a_remembered_decision_is_the_records_own(
    world: World, actions: list[str], monitor: bool
) -> None:
    decider = Decider(world, WINDOWS, dict(zip(RULE_IDS, actions, strict=True)), monitor=monitor)
    for record in EVERY_RECORD:
        decided = decider.decide_record(
            record.sender, list(record.recipients), channel_type=record.channel_type,
            platform=record.platform, now=record.occurred_at)
        assert decided == judged_alone(decider, record), record


def every_field_pack() -> list[RuleWindow]:
    """A pack with one rule per vocabulary field, each telling records apart by it: the
    remembered decisions must notice every field a rule reads, whichever it is."""
    rules = []
    for n, (name, spec) in enumerate(sorted(FIELDS.items())):
        if spec.type is bool:
            when = f"{{field: {name}, op: is_true}}"
        elif spec.type is int:
            when = f"{{field: {name}, op: gte, value: {2 if 'count' in name else 12}}}"
        elif spec.nullable:
            when = f"{{field: {name}, op: is_null}}"
        else:
            value = spec.choices[len(spec.choices) // 2] if spec.choices else "email"
            when = f"{{field: {name}, op: eq, value: {value}}}"
        rules.append(f"""  - id: field-{n}
    title: Reads {name}
    citation: 9052 §A
    severity: low
    explanation: reads {name}.
    when: {when}""")
    text = f"""policy: "9052"
title: Every field
version: "2026.9"
adopted_on: 2026-01-01
effective_on: 2017-06-14
sections:
  - {{id: A, title: Purpose, text: All communication must use district accounts.}}
rules:
{chr(10).join(rules)}
"""
    return rule_windows([parse(text, source="fields.yaml")])


FIELD_WINDOWS = every_field_pack()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(world=worlds_with_exceptions(), first=st.integers(0, len(FIELD_WINDOWS) - 1))
def test_a_rule_on_any_field_is_remembered_by_that_field(world: World, first: int) -> None:
    windows = FIELD_WINDOWS[first:] + FIELD_WINDOWS[:first]  # each field's rule leads in turn
    decider = Decider(world, windows, {w.rule.id: "REJECT" for w in windows})
    for record in EVERY_RECORD:
        decided = decider.decide_record(
            record.sender, list(record.recipients), channel_type=record.channel_type,
            platform=record.platform, now=record.occurred_at)
        assert decided == judged_alone(decider, record), record
