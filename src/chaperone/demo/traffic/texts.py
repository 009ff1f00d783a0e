"""Texts, calls and voicemail: the rows of the sms-csv log."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import NamedTuple

from chaperone.demo.traffic.clock import Clock, When
from chaperone.demo.traffic.draws import pick, weighted
from chaperone.demo.traffic.ids import Ids
from chaperone.demo.traffic.people import People, Person
from chaperone.demo.traffic.registry import DENIED, EXPIRING, PENDING, TEXTING

_BAD_PHONES = ("555-01", "72975", "+1 914 55", "unknown")
_CALL_KINDS = ("text_message", "call", "voicemail")


class Text(NamedTuple):
    """One sms-csv row."""

    when: When
    sender: str
    to: tuple[str, ...]
    type: str
    platform: str
    message_id: str
    media: bool
    kind: str


class Texter:
    """Draws sms-csv rows: compliant texts and calls, planted violations and bad rows."""

    def __init__(
        self, rng: random.Random, people: People, clock: Clock, ids: Ids, expires_on: date
    ) -> None:
        self.rng, self.people, self.clock, self.ids = rng, people, clock, ids
        self._district = sorted(people.district_phone.items())
        self._personal = sorted(people.personal_phone.items())
        if not self._district:
            raise ValueError("the district needs staff with district phones")
        self._window = clock.span(last=expires_on)
        self._expired = clock.span(first=expires_on + timedelta(days=1))
        self._planted = {
            "personal_phone_to_parent": self._personal_phone,
            "denied_platform": self._denied,
            "pending_platform": self._pending,
            "expired_platform": self._expired_platform,
            "channel_not_approved": self._wrong_channel,
        }

    def log(self, size: int, targets: dict[str, int], bad: int) -> list[Text]:
        """All rows of the log, in time order."""
        rows: list[Text] = []
        for kind, make in self._planted.items():
            if self._can_plant(kind):
                rows += [make() for _ in range(targets[kind])]
        for index in range(bad):
            phone = pick(self.rng, self._district)[1]
            when = self.clock.pick(self.rng)
            wrong = (_BAD_PHONES[index % len(_BAD_PHONES)],)
            rows.append(self._row(when, phone, wrong, "text_message", "", False, "bad"))
        rows += [self._compliant() for _ in range(size - len(rows))]
        rows.sort(key=lambda t: (t.when.epoch, t.message_id))
        return rows

    def _can_plant(self, kind: str) -> bool:
        if kind == "personal_phone_to_parent":
            return bool(self._personal)
        return kind != "expired_platform" or self._expired is not None

    def _row(
        self, when: When, sender: str, to: tuple[str, ...], kind: str, platform: str,
        media: bool, planted: str,
    ) -> Text:  # fmt: skip
        prefix = {"text_message": "SM", "call": "CA", "voicemail": "RE"}[kind]
        message_id = self.ids.other(self.rng, prefix)
        return Text(when, sender, to, kind, platform, message_id, media, planted)

    def _parents(self, staff_id: str, families: int = 1) -> list[Person]:
        """Parents of students at the staff member's school."""
        school = self.people.by_id[staff_id].school
        pool = self.people.families_at.get(school)
        if pool is None:
            pool = self.people.families_at[pick(self.rng, self.people.schools)]
        picked = self.rng.sample(pool, min(families, len(pool)))
        return [parent for _, parents in picked for parent in parents]

    def _compliant(self) -> Text:
        rng, draw = self.rng, self.rng.random()
        staff_id, phone = pick(rng, self._district)
        parent = pick(rng, self._parents(staff_id)).phone
        when = self.clock.pick(rng)
        if draw < 0.50:
            kind = weighted(rng, _CALL_KINDS, (75, 92, 100))
            media = kind == "text_message" and rng.random() < 0.05
            return self._row(when, phone, (parent,), kind, "", media, "")
        if draw < 0.65:
            kind = "text_message" if rng.random() < 0.85 else "call"
            return self._row(when, parent, (phone,), kind, "", False, "")
        if draw < 0.70 and len(self._district) > 1:
            other = pick(rng, [p for s, p in self._district if s != staff_id])
            return self._row(when, phone, (other,), "text_message", "", False, "")
        to = tuple(p.phone for p in self._parents(staff_id, pick(rng, (1, 1, 2, 3))))
        if draw < 0.76 and self._window is not None:
            when = self.clock.pick(rng, self._window)
            return self._row(when, phone, to, "text_message", EXPIRING, rng.random() < 0.1, "")
        return self._row(when, phone, to, "text_message", TEXTING, rng.random() < 0.15, "")

    def _personal_phone(self) -> Text:
        staff_id, phone = pick(self.rng, self._personal)
        parent = pick(self.rng, self._parents(staff_id)).phone
        kind = weighted(self.rng, _CALL_KINDS, (70, 90, 100))
        when = self.clock.pick(self.rng)
        return self._row(when, phone, (parent,), kind, "", False, "personal_phone_to_parent")

    def _denied(self) -> Text:
        staff_id, phone = pick(self.rng, self._personal or self._district)
        parent = pick(self.rng, self._parents(staff_id)).phone
        kind = "text_message" if self.rng.random() < 0.8 else "call"
        media = kind == "text_message" and self.rng.random() < 0.2
        when = self.clock.pick(self.rng)
        return self._row(when, phone, (parent,), kind, DENIED, media, "denied_platform")

    def _pending(self) -> Text:
        staff_id, phone = pick(self.rng, self._district + self._personal)
        parent = pick(self.rng, self._parents(staff_id)).phone
        media = self.rng.random() < 0.35
        when = self.clock.pick(self.rng)
        return self._row(when, phone, (parent,), "text_message", PENDING, media, "pending_platform")

    def _expired_platform(self) -> Text:
        staff_id, phone = pick(self.rng, self._district)
        to = tuple(p.phone for p in self._parents(staff_id))
        when = self.clock.pick(self.rng, self._expired)
        media = self.rng.random() < 0.1
        return self._row(when, phone, to, "text_message", EXPIRING, media, "expired_platform")

    def _wrong_channel(self) -> Text:
        staff_id, phone = pick(self.rng, self._district)
        parent = pick(self.rng, self._parents(staff_id)).phone
        when = self.clock.pick(self.rng, self._window)
        kind = "channel_not_approved"
        return self._row(when, phone, (parent,), "voicemail", EXPIRING, False, kind)
