"""E-mail: the messages of the Exchange trace and the staff mailboxes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

from chaperone.demo.traffic.clock import Clock, When
from chaperone.demo.traffic.draws import pick, weighted
from chaperone.demo.traffic.ids import Ids
from chaperone.demo.traffic.people import Family, People, Person
from chaperone.demo.traffic.phrases import BODIES, SUBJECTS

Draft = tuple[str, tuple[str, ...], tuple[str, ...], str, bool]  # sender, to, cc, topic, reply


@dataclass(slots=True)
class Mail:
    """One e-mail message."""

    when: When
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    message_id: str
    image: bool
    kind: str = ""


class Mailer:
    """Draws e-mail messages: compliant or out-of-scope traffic, or a planted violation."""

    def __init__(self, rng: random.Random, people: People, clock: Clock, ids: Ids) -> None:
        self.rng, self.people, self.clock, self.ids = rng, people, clock, ids
        categories = (
            (22, self._staff_student), (12, self._student_staff), (14, self._staff_parent),
            (10, self._parent_staff), (25, self._staff_staff), (7, self._student_student),
            (10, self._outside),
        )  # fmt: skip
        self._makers = [maker for _, maker in categories]
        self._cum = list(accumulate(weight for weight, _ in categories))
        self._planted = {
            "personal_email_to_student": self._personal_to_student,
            "personal_email_to_parent": self._personal_to_parent,
            "student_personal_email": self._student_personal,
        }
        self._staff_personal = sorted(people.personal_email)
        self._kids_personal = sorted(people.student_email)

    def can_plant(self, kind: str) -> bool:
        """Whether the district has the accounts this kind of violation needs."""
        return bool(
            self._kids_personal if kind == "student_personal_email" else self._staff_personal
        )

    def compliant(self) -> Mail:
        """A message the policy allows or does not cover."""
        return self._mail(weighted(self.rng, self._makers, self._cum)(), "")

    def staff_to_students(self) -> Mail:
        """A compliant message from a staff member's district account to students."""
        return self._mail(self._staff_student(), "")

    def planted(self, kind: str) -> Mail:
        """A planted violation of the kind."""
        return self._mail(self._planted[kind](), kind)

    def _mail(self, draft: Draft, kind: str) -> Mail:
        sender, to, cc, topic, reply = draft
        subject = pick(self.rng, SUBJECTS[topic])
        return Mail(
            when=self.clock.pick(self.rng),
            sender=sender,
            to=to,
            cc=cc,
            subject=f"RE: {subject}" if reply else subject,
            body=pick(self.rng, BODIES[topic]),
            message_id=self.ids.email(self.rng, sender),
            image=self.rng.random() < 0.10,
            kind=kind,
        )

    def _families(self, staff: Person, count: int) -> list[Family]:
        """Students (with their parents) of the staff member's school."""
        families = self.people.families_at.get(staff.school)
        if families is None:
            families = self.people.families_at[pick(self.rng, self.people.schools)]
        if count == 1:
            return [pick(self.rng, families)]
        return self.rng.sample(families, min(count, len(families)))

    def _count(self) -> int:
        return weighted(self.rng, (1, 2, 3, 4), (70, 85, 95, 100))

    def _colleagues(self, staff: Person, count: int) -> list[Person]:
        pool = self.people.staff_at.get(staff.school, [])
        if len(pool) <= count or self.rng.random() < 0.3:
            pool = self.people.staff
        picked = self.rng.sample(pool, min(count + 1, len(pool)))
        return [p for p in picked if p.id != staff.id][:count]

    def _staff_student(self) -> Draft:
        staff = pick(self.rng, self.people.staff)
        families = self._families(staff, self._count())
        copied = self.rng.random() < 0.1
        cc = tuple(p.email for p in families[0][1]) if copied else ()
        return staff.email, tuple(kid.email for kid, _ in families), cc, "student", False

    def _student_staff(self) -> Draft:
        staff = pick(self.rng, self.people.staff)
        kid = self._families(staff, 1)[0][0]
        return kid.email, (staff.email,), (), "student", True

    def _staff_parent(self) -> Draft:
        staff = pick(self.rng, self.people.staff)
        parents = self._families(staff, 1)[0][1]
        both = self.rng.random() < 0.4
        to = tuple(p.email for p in parents) if both else (pick(self.rng, parents).email,)
        cc = tuple(p.email for p in self._colleagues(staff, 1)) if self.rng.random() < 0.1 else ()
        return staff.email, to, cc, "parent", False

    def _parent_staff(self) -> Draft:
        staff = pick(self.rng, self.people.staff)
        parent = pick(self.rng, self._families(staff, 1)[0][1])
        return parent.email, (staff.email,), (), "parent", True

    def _staff_staff(self) -> Draft:
        staff = pick(self.rng, self.people.staff)
        to = tuple(p.email for p in self._colleagues(staff, self._count()))
        return staff.email, to, (), "staff", self.rng.random() < 0.3

    def _student_student(self) -> Draft:
        families = self.people.families_at[pick(self.rng, self.people.schools)]
        if len(families) < 2:
            families = [(kid, []) for kid in self.people.students]
        (one, _), (other, _) = self.rng.sample(families, 2)
        return one.email, (other.email,), (), "peer", self.rng.random() < 0.3

    def _outside(self) -> Draft:
        address = pick(self.rng, self.people.outsiders)[0]
        staff = self.rng.sample(self.people.staff, min(self._count(), len(self.people.staff)))
        return address, tuple(p.email for p in staff), (), "outside", False

    def _personal_to_student(self) -> Draft:
        staff = self.people.by_id[pick(self.rng, self._staff_personal)]
        address = self.people.personal_email[staff.id]
        kid = self._families(staff, 1)[0][0]
        if self.rng.random() < 0.3:
            return kid.email, (address,), (), "student", True
        return address, (kid.email,), (), "student", False

    def _personal_to_parent(self) -> Draft:
        staff = self.people.by_id[pick(self.rng, self._staff_personal)]
        address = self.people.personal_email[staff.id]
        parent = pick(self.rng, self._families(staff, 1)[0][1])
        if self.rng.random() < 0.25:
            return parent.email, (address,), (), "parent", True
        return address, (parent.email,), (), "parent", False

    def _student_personal(self) -> Draft:
        kid = self.people.by_id[pick(self.rng, self._kids_personal)]
        address = self.people.student_email[kid.id]
        staff = pick(self.rng, self.people.staff_at.get(kid.school) or self.people.staff)
        if self.rng.random() < 0.25:
            return address, (staff.email,), (), "student", True
        return staff.email, (address,), (), "student", False


def draw_mails(
    mailer: Mailer, sizes: dict[str, int], targets: dict[str, int], duplicates: int, bad: int
) -> tuple[list[Mail], list[Mail]]:
    """The trace's and the mailbox's messages, with planted violations, duplicates, bad rows."""
    trace: list[Mail] = []
    mailbox: list[Mail] = []
    for kind, in_trace in (
        ("personal_email_to_student", 2 / 3),
        ("student_personal_email", 2 / 3),
        ("personal_email_to_parent", 0.0),  # personal to personal never passes the district
    ):
        if mailer.can_plant(kind):
            count = round(targets[kind] * in_trace)
            trace += [mailer.planted(kind) for _ in range(count)]
            mailbox += [mailer.planted(kind) for _ in range(targets[kind] - count)]
    for _ in range(bad):
        broken = mailer.staff_to_students()
        broken.sender, broken.to, broken.cc, broken.kind = "", broken.to[:1], (), "bad"
        trace.append(broken)
    copies = [mailer.staff_to_students() for _ in range(duplicates)]
    trace += copies
    mailbox += copies
    trace += [mailer.compliant() for _ in range(sizes["trace"] - len(trace))]
    mailbox += [mailer.compliant() for _ in range(sizes["mailbox"] - len(mailbox))]
    trace.sort(key=lambda m: (m.when.epoch, m.message_id), reverse=True)  # newest first
    mailbox.sort(key=lambda m: (m.when.epoch, m.message_id))
    return trace, mailbox
