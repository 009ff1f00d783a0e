"""Slack: a staff workspace, plus one club channel that students are members of."""

from __future__ import annotations

import calendar
import random
import string
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NamedTuple

from chaperone.demo.traffic.clock import Clock, When
from chaperone.demo.traffic.draws import pick, weighted
from chaperone.demo.traffic.people import People, Person
from chaperone.demo.traffic.phrases import CLUB_CHAT, STAFF_CHAT

CLUB_CHANNEL = "hs-robotics-club"
_CHANNEL_WEIGHTS = {"general": 2.0, "district-office": 1.0}  # the others: 3.0


class Post(NamedTuple):
    """One Slack message."""

    when: When
    channel: str
    user: str
    text: str
    image: bool
    kind: str


@dataclass
class Slack:
    """A Slack export before it is written."""

    users: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    posts: list[Post]


class _SlackIds:
    """Unique Slack user and channel ids."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def new(self, prefix: str) -> str:
        """A new id: the prefix and nine random letters or digits."""
        while True:
            chars = self._rng.choices(string.ascii_uppercase + string.digits, k=9)
            value = prefix + "".join(chars)
            if value not in self._used:
                self._used.add(value)
                return value


def draw_slack(
    rng: random.Random, people: People, clock: Clock, size: int, club_posts: int
) -> Slack:
    """A Slack workspace of the staff, plus one club channel that students are members of."""
    ids = _SlackIds(rng)
    uids = {p.id: ids.new("U0") for p in people.staff}
    club = _club(rng, people)
    for kid in club[1:]:
        uids[kid.id] = ids.new("U0")
    members = _channel_members(rng, people, club)
    channel_ids = {name: ids.new("C0") for name in members}
    club_count = club_posts if CLUB_CHANNEL in members else 0
    posts = _posts(rng, clock, members, uids, size, club_count)
    users = sorted(
        (_slack_user(uids[p.id], p) for p in people.staff + club[1:]), key=lambda u: str(u["id"])
    )
    start = calendar.timegm(clock.days[0].timetuple())
    channels = [
        _slack_channel(channel_ids[name], name, sorted(uids[p.id] for p in group), start)
        for name, group in sorted(members.items())
    ]
    return Slack(users, channels, posts)


def _posts(
    rng: random.Random,
    clock: Clock,
    members: dict[str, list[Person]],
    uids: dict[str, str],
    size: int,
    club_count: int,
) -> list[Post]:
    """The messages: the club channel's first, then the others by channel weight."""
    names = [name for name in members if name != CLUB_CHANNEL]
    cum = list(accumulate(_CHANNEL_WEIGHTS.get(name, 3.0) for name in names))
    posts: list[Post] = []
    for index in range(size):
        name = CLUB_CHANNEL if index < club_count else weighted(rng, names, cum)
        author = pick(rng, members[name])
        planted = "audience_not_approved" if name == CLUB_CHANNEL else ""
        text = pick(rng, CLUB_CHAT if planted else STAFF_CHAT)
        image = rng.random() < 0.03
        posts.append(Post(clock.pick(rng), name, uids[author.id], text, image, planted))
    posts.sort(key=lambda p: (p.channel, p.when.epoch, p.user, p.text))
    return posts


def _club(rng: random.Random, people: People) -> list[Person]:
    """The robotics club: a high-school coach first, then up to ten students."""
    school = "HS" if "HS" in people.families_at else people.schools[0]
    colleagues = people.staff_at.get(school) or people.staff
    coach = pick(rng, [p for p in colleagues if p.role == "teacher"] or colleagues)
    kids = [kid for kid, _ in people.families_at[school]]
    return [coach, *sorted(rng.sample(kids, min(10, len(kids))), key=lambda p: p.id)]


def _channel_members(
    rng: random.Random, people: People, club: list[Person]
) -> dict[str, list[Person]]:
    """Members of every channel with at least two members."""
    office = [p for p in people.staff if p.role in ("principal", "districtAdministrator")]
    channels = {"general": people.staff, "district-office": office}
    for school in sorted(people.staff_at):
        if school in people.families_at:
            channels[f"{school.lower()}-staff"] = people.staff_at[school]
    helpers = rng.sample(people.staff, max(2, round(len(people.staff) * 0.4)))
    channels["tech-help"] = sorted(helpers, key=lambda p: p.id)
    if len(club) > 1:
        channels[CLUB_CHANNEL] = club
    return {name: group for name, group in channels.items() if len(group) >= 2}


def _slack_user(uid: str, person: Person) -> dict[str, Any]:
    """The users.json entry of a person."""
    given = person.name.split(" ", 1)[0]
    return {
        "id": uid,
        "team_id": "T0DEMO9052",
        "name": person.email.partition("@")[0],
        "deleted": False,
        "real_name": person.name,
        "is_bot": False,
        "profile": {"real_name": person.name, "display_name": given, "email": person.email},
    }


def _slack_channel(cid: str, name: str, members: list[str], created: int) -> dict[str, Any]:
    """The channels.json entry of a channel."""
    purpose = "Robotics club practice and competitions" if name == CLUB_CHANNEL else ""
    return {
        "id": cid,
        "name": name,
        "created": created,
        "creator": members[0],
        "is_archived": False,
        "is_general": name == "general",
        "members": members,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": purpose, "creator": "", "last_set": 0},
    }
