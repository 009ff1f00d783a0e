"""Writing the sources as their systems export them: trace CSV, mbox, sms-csv, Slack export."""

from __future__ import annotations

import base64
import csv
import json
import random
from collections import defaultdict
from datetime import date
from email.utils import formataddr
from pathlib import Path
from typing import Any

from chaperone.demo.district import STAFF_DOMAIN
from chaperone.demo.traffic.clock import When, offset_text, utc
from chaperone.demo.traffic.draws import pick
from chaperone.demo.traffic.ids import guid
from chaperone.demo.traffic.mail import Mail
from chaperone.demo.traffic.people import People
from chaperone.demo.traffic.slack import Slack
from chaperone.demo.traffic.texts import Text

TRACE_HEADER = (
    "Received", "SenderAddress", "RecipientAddress", "Subject", "Status", "Size", "MessageId",
    "MessageTraceId", "FromIP", "ToIP",
)  # fmt: skip
SMS_HEADER = ("occurred_at", "from", "to", "type", "platform", "message_id", "has_media")

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DISTRICT_SUFFIXES = ("@" + STAFF_DOMAIN, "." + STAFF_DOMAIN)
# A 1x1 transparent PNG.
_PNG = base64.encodebytes(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode("ascii")


# --- Exchange message trace ------------------------------------------------------------------


def write_trace(rng: random.Random, path: Path, mails: list[Mail]) -> None:
    """Write Get-MessageTrace rows as Export-Csv does: every value quoted, one row a recipient."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(TRACE_HEADER)
        for mail in mails:
            received = _trace_time(mail.when)
            inside = _district_address(mail.sender)
            host = 2 + int(rng.random() * 248)
            from_ip = f"10.20.{host % 40}.{host}" if inside else f"203.0.113.{host}"
            size = str(4_000 + int(rng.random() * 56_000) + (150_000 if mail.image else 0))
            trace_id = guid(rng)
            for recipient in (*mail.to, *mail.cc):
                status = "Failed" if rng.random() < 0.003 else "Delivered"
                to_ip = "" if _district_address(recipient) else f"198.51.100.{host}"
                writer.writerow(
                    (received, mail.sender, recipient, mail.subject, status, size,
                     mail.message_id, trace_id, from_ip, to_ip)
                )  # fmt: skip


def _trace_time(when: When) -> str:
    """The time as Export-Csv writes it: UTC, US notation, 12-hour clock."""
    moment = utc(when)
    hour = moment.hour % 12 or 12
    noon = "AM" if moment.hour < 12 else "PM"
    clock = f"{hour}:{moment.minute:02d}:{moment.second:02d} {noon}"
    return f"{moment.month}/{moment.day}/{moment.year} {clock}"


def _district_address(address: str) -> bool:
    """Whether an address is at the district's staff domain or one of its subdomains."""
    return address.endswith(_DISTRICT_SUFFIXES)


# --- mbox ------------------------------------------------------------------------------------


def write_mbox(path: Path, mails: list[Mail], people: People) -> None:
    """Write the messages as a Google Takeout-like mbox."""
    display = _display_names(people)
    staff = {p.email for p in people.staff} | set(people.personal_email.values())
    outside = {address for address, _ in people.outsiders}
    with path.open("w", encoding="utf-8", newline="") as handle:
        for index, mail in enumerate(mails):
            labels = "Sent" if mail.sender in staff else "Inbox,Opened"
            if mail.sender in outside:
                labels = "Inbox,Category Updates"
            lines = _mbox_headers(mail, index, labels, display)
            handle.write("\n".join(lines) + "\n" + _mime_body(mail, index) + "\n")


def _display_names(people: People) -> dict[str, str]:
    """Every known address with its owner's name, as a header writes it."""
    names = dict(people.outsiders)
    for person in people.by_id.values():
        names[person.email] = person.name
    for owner, address in (*people.personal_email.items(), *people.student_email.items()):
        names[address] = people.by_id[owner].name
    return {address: formataddr((name, address)) for address, name in names.items()}


def _mbox_headers(mail: Mail, index: int, labels: str, display: dict[str, str]) -> list[str]:
    """The From_ line and the headers of one message, up to its content headers."""
    moment, local = utc(mail.when), mail.when.local
    thread = (mail.when.epoch << 20) | index
    lines = [
        f"From {thread}@xxx {_WEEKDAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} "
        f"{moment.day:2d} {moment:%H:%M:%S} {moment.year}",
        f"X-GM-THRID: {thread}",
        f"X-Gmail-Labels: {labels}",
        "MIME-Version: 1.0",
        f"Date: {_WEEKDAYS[local.weekday()]}, {local.day} {_MONTHS[local.month - 1]} "
        f"{local.year} {local:%H:%M:%S} {offset_text(mail.when.offset, '')}",
        f"Message-ID: {mail.message_id}",
        f"Subject: {mail.subject}",
        f"From: {display.get(mail.sender, mail.sender)}",
        "To: " + ", ".join(display.get(a, a) for a in mail.to),
    ]
    if mail.cc:
        lines.append("Cc: " + ", ".join(display.get(a, a) for a in mail.cc))
    return lines


def _mime_body(mail: Mail, index: int) -> str:
    """The content headers and body of a message, with a small PNG for some."""
    text = f"Hello,\n\n{mail.body}\n\nThank you\n"
    plain = 'Content-Type: text/plain; charset="UTF-8"\n'
    if not mail.image:
        return f"{plain}\n{text}"
    boundary = f"00000000000{index:017x}"
    return (
        f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
        f"--{boundary}\n{plain}\n{text}\n"
        f'--{boundary}\nContent-Type: image/png; name="photo.png"\n'
        f'Content-Disposition: attachment; filename="photo.png"\n'
        f"Content-Transfer-Encoding: base64\n\n{_PNG}\n--{boundary}--\n"
    )


# --- sms-csv ---------------------------------------------------------------------------------


def write_texts(rng: random.Random, path: Path, rows: list[Text]) -> None:
    """Write the sms-csv log."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SMS_HEADER)
        for row in rows:
            to = ";".join(_styled(rng, number) for number in row.to)
            media = "true" if row.media else pick(rng, ("false", "false", ""))
            writer.writerow(
                (_sms_time(rng, row.when), _styled(rng, row.sender), to, row.type, row.platform,
                 row.message_id, media)
            )  # fmt: skip


def _styled(rng: random.Random, e164: str) -> str:
    """Write an E.164 NANP number in one of the notations people type."""
    if not (e164.startswith("+1") and len(e164) == 12):
        return e164
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    return pick(
        rng,
        (e164, f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}",
         f"{area}.{exchange}.{line}", f"+1 {area} {exchange} {line}")
    )  # fmt: skip


def _sms_time(rng: random.Random, when: When) -> str:
    """The time as a phone export writes it: mostly local without an offset."""
    draw = rng.random()
    if draw < 0.85:
        return when.local.isoformat(sep=" ")
    if draw < 0.95:
        return when.local.isoformat() + offset_text(when.offset, ":")
    return utc(when).isoformat() + "Z"


# --- Slack export ----------------------------------------------------------------------------


def write_slack(folder: Path, slack: Slack) -> None:
    """Write the export: users.json, channels.json and one file per channel and day."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "users.json", slack.users)
    _write_json(folder / "channels.json", slack.channels)
    days: dict[tuple[str, date], list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for post in slack.posts:
        micros = post.when.epoch % 997 * 1000 + 100
        while (post.channel, ts := f"{post.when.epoch}.{micros:06d}") in seen:
            micros += 1
        seen.add((post.channel, ts))
        message: dict[str, Any] = {"type": "message", "user": post.user, "text": post.text}
        message["ts"] = ts
        if post.image:
            message["files"] = [
                {"id": f"F{ts.replace('.', '')}", "name": "photo.png", "mimetype": "image/png",
                 "filetype": "png"}
            ]  # fmt: skip
        days[post.channel, post.when.local.date()].append(message)
    for (channel, day), messages in sorted(days.items()):
        (folder / channel).mkdir(exist_ok=True)
        _write_json(folder / channel / f"{day.isoformat()}.json", messages)


def _write_json(path: Path, data: object) -> None:
    """Write JSON indented by four spaces, with a final newline."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        json.dump(data, handle, indent=4)
        handle.write("\n")
