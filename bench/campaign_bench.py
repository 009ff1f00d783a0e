"""Campaign benchmark: creating a campaign for a district and sending its notices, beside
a plain ``smtplib`` loop sending the same number of messages to the same SMTP sink.

Generates the seeded sample district (``chaperone.demo.district.generate``; about 4,500
people with the defaults), imports it into a temporary SQLite store with the real
importers, then measures in this process:

a. ``campaigns.create`` for all six populations (the audience query, a notice and a
   link hash per person);
b. ``delivery.send`` of every notice: the message composed with its private link, one
   store transaction per notice (the notice marked sent the moment the relay accepts
   it, so an interrupted run resumes), over one SMTP connection;
c. the baseline: a loop that sends the same number of ready-made messages over one
   ``smtplib`` connection to the same sink, with no store at all: the practical limit
   of sending mail from Python.

The sink is a minimal SMTP server (asyncio, in a thread of this process) that accepts
everything and counts messages, so the relay's own speed is out of the comparison;
every message is counted. It prints rates and the ratio (b)/(c). The machine is shared
and noisy: read the ratio, not the seconds.

    python bench/campaign_bench.py [--students 4000] [--staff 300] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import shutil
import smtplib
import tempfile
import threading
import time
from email.message import EmailMessage
from importlib.metadata import version
from pathlib import Path

from chaperone.acknowledge import campaigns, delivery
from chaperone.demo.district import generate
from chaperone.directory import service as directory
from chaperone.directory.importers.oneroster import OneRosterImporter
from chaperone.directory.importers.people import PeopleImporter
from chaperone.registry import service as registry
from chaperone.settings import Settings
from chaperone.store.db import Store, create_store


class Sink(asyncio.Protocol):
    """An SMTP server that says yes to everything and counts the messages it receives."""

    received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""
        self.in_data = False
        self.transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                Sink.received += 1
                self.transport.write(b"250 2.0.0 queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            command, self.buffer = self.buffer[:end].upper(), self.buffer[end + 2 :]
            self.transport.write(self._answer(command))

    def _answer(self, command: bytes) -> bytes:
        if command.startswith(b"EHLO"):
            return b"250-sink\r\n250 8BITMIME\r\n"
        if command.startswith(b"DATA"):
            self.in_data = True
            return b"354 go on\r\n"
        if command.startswith(b"QUIT"):
            self.transport.close()
            return b"221 bye\r\n"
        return b"250 2.0.0 ok\r\n"


def start_sink() -> int:
    """Run the sink in a daemon thread; its port."""
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(Sink, "127.0.0.1", 0))
    port = int(server.sockets[0].getsockname()[1])
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return port


def load(store: Store, folder: Path, students: int, staff: int) -> None:
    """The generated district imported with the real importers."""
    district = generate(folder, seed=9052, students=students, staff=staff)
    with store.transaction() as session:
        registry.import_file(session, district.registry)
        region = registry.require_current(session).registry.district.default_region
    with store.transaction() as session:
        for batch in (OneRosterImporter(district.roster, region=region).read(),
                      PeopleImporter(district.people, region=region).read()):
            directory.apply_batch(session, batch, skip_bad_rows=False)


def baseline(port: int, count: int, sender: str) -> float:
    """Seconds to send ``count`` ready-made notices over one smtplib connection."""
    messages = []
    for index in range(count):
        message = EmailMessage()
        message["From"], message["To"] = sender, f"person{index}@example.org"
        message["Subject"] = "Please acknowledge Board Policy 9052"
        message.set_content(f"Dear Ana,\n\nhttps://chaperone.test/ack/{index:032d}\n")
        messages.append(message)
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as relay:
        for message in messages:
            relay.send_message(message)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=4000)
    parser.add_argument("--staff", type=int, default=300)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="chaperone-campaign-bench-"))
    shutil.rmtree(work / "home", ignore_errors=True)
    port = start_sink()
    settings = Settings(
        home=work / "home", public_url="https://chaperone.test", mail_from="co@example.org",
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
    )
    (work / "home").mkdir(parents=True)
    store = create_store(settings)
    print(f"chaperone campaign benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
          f"Python {platform.python_version()}, SQLAlchemy {version('sqlalchemy')}")
    load(store, work / "district", args.students, args.staff)

    start = time.perf_counter()
    with store.transaction() as session:
        campaign, synced = campaigns.create(session, name="Policy 9052", created_by="bench",
                                            due_on=dt.date.today() + dt.timedelta(days=30))
        number = campaign.id
    created = time.perf_counter() - start
    print(f"  create: {synced.added:,} notices in {created:.2f} s "
          f"({synced.added / created:,.0f} notices/s)")

    start = time.perf_counter()
    sent = delivery.send(store, settings, number, actor="bench")
    ours = time.perf_counter() - start
    assert Sink.received == sent.sent, (Sink.received, sent.sent)
    print(f"  chaperone send: {sent.sent:,} notices in {ours:.2f} s "
          f"({sent.sent / ours:,.0f}/s; {sent.no_address:,} without an address)")
    theirs = baseline(port, sent.sent, "co@example.org")
    assert Sink.received == 2 * sent.sent
    print(f"  plain smtplib loop: {sent.sent:,} messages in {theirs:.2f} s "
          f"({sent.sent / theirs:,.0f}/s)")
    print(f"\nsummary\n  chaperone send / plain smtplib loop   {theirs / ours:.2f}x  (reference)")
    store.close()
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
