"""Gateway benchmark: `chaperone gateway` beside postfwd and a minimal asyncio server, in one run.

Builds a seeded sample district (``chaperone.demo.district.generate``, ~5,000 people)
in a temporary Chaperone home with the real CLI (``registry import``, ``directory import
oneroster/people/contacts``), writes N Postfix policy requests (RCPT state, the attributes
Postfix 3.7 sends) that mix senders and recipients from that directory, then, per server,
drives the same requests over 1 persistent connection and over 8 (one thread each, every
answer read before the next request is sent, as Postfix's smtpd does):

* ``chaperone gateway --listen inet:127.0.0.1:PORT`` (a subprocess, ``CHAPERONE_HOME`` set);
* Debian's ``postfwd2`` (installed with apt-get when missing and run as root) with an
  equivalent rule: 550 when the sender is one of the staff's personal addresses from
  contacts.csv and the recipient domain is the students' domain, else DUNNO; once with its
  request cache off and once on, keyed on the two items the rule reads (its best case);
* a minimal asyncio server (in this file, a subprocess too) that parses each request and
  answers DUNNO: the practical limit of a Python policy service here.

Per run it reports requests/s, p50/p99 latency (send to full answer, per request), the
server's CPU time per request (from /proc, the server's whole process tree) and checks
every answer against what the request should get. Then the ratios chaperone/postfwd and
chaperone/minimal with the goals (PASS/MISS): Chaperone at least 0.5x the minimal server's
throughput on 8 connections, and p99 under 2 ms. Last, where Chaperone's time goes:
parse/decide costs measured in-process and a cProfile of ``Decider.decide``.

The machine is shared and noisy, and the clients run on it too: read the ratios.

    python bench/gateway_bench.py [--requests 100000] [--workdir DIR] [--connections 1,8]
                                  [--warmup 500] [--profile 20000] [--no-postfwd]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import csv
import ctypes
import datetime as dt
import functools
import gc
import grp
import os
import platform
import pstats
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

from chaperone.demo.district import FAMILY_ROLES, STAFF_ROLES, STUDENT_DOMAIN, generate
from chaperone.gateway.decide import postfix_action
from chaperone.gateway.journal import DecisionJournal
from chaperone.gateway.protocol import answer, parse
from chaperone.gateway.service import build_decider
from chaperone.lake.decisions import decision_files
from chaperone.lake.layout import LakeLayout
from chaperone.lake.writer import connect, lake_path
from chaperone.settings import Settings

MINIMAL_GOAL = 0.5  # chaperone at least half the minimal server's requests/s on 8 connections
P99_GOAL_MS = 2.0  # chaperone's p99 latency under 2 ms
REJECT_PREFIX = b"action=550 5.7.1 "
DUNNO_ANSWER = b"action=DUNNO\n\n"
CLI = "from chaperone.cli import main; main()"
CHAPERONE = "chaperone gateway"
MINIMAL = "minimal asyncio (DUNNO)"
MINIMAL_UVLOOP = "minimal asyncio on uvloop (DUNNO)"
T = TypeVar("T")
UNRECORDED = "chaperone gateway, decisions off"

# The attributes Postfix 3.7 sends at RCPT state (SMTPD_POLICY_README), in its order.
TEMPLATE = (
    "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
    "helo_name={host}\nqueue_id={queue}\nsender={sender}\nrecipient={recipient}\n"
    "recipient_count=0\nclient_address={ip}\nclient_name={host}\nreverse_client_name={host}\n"
    "instance={instance}\nsasl_method={sasl_method}\nsasl_username={sasl_user}\nsasl_sender=\n"
    "size={size}\nccert_subject=\nccert_issuer=\nccert_fingerprint=\nccert_pubkey_fingerprint=\n"
    "encryption_protocol=TLSv1.3\nencryption_cipher=TLS_AES_256_GCM_SHA384\n"
    "encryption_keysize=256\netrn_domain=\nstress=\npolicy_context=\n"
    "server_address=10.20.0.25\nserver_port={server_port}\ncompatibility_level=3.6\n"
    "mail_version=3.7.11\nclient_port={client_port}\n\n"
)
# share of messages per kind: (kind, weight); "violation" is the only kind that is rejected
MIX = (
    ("staff -> student", 38),
    ("staff -> family", 20),
    ("family -> staff", 10),
    ("student -> staff", 6),
    ("staff personal -> student", 10),
    ("unknown -> student/staff", 8),
    ("staff -> unknown", 8),
)
VIOLATION = "staff personal -> student"
RECIPIENTS = (1, 1, 1, 1, 1, 2, 2, 3)  # RCPT requests per message
UNKNOWN_DOMAINS = (
    "news.example-mailer.com",
    "lists.example.org",
    "camp-example.com",
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "tutoring-example.net",
)
UNKNOWN_LOCALS = ("news", "info", "noreply", "events", "coach", "tutor", "alex.m", "jordan.k")


# ------------------------------------------------------------------------- directory


@dataclass(frozen=True)
class Directory:
    """The addresses the requests are drawn from, by who owns them."""

    staff: list[str]
    students: list[str]
    family: list[str]
    staff_personal: list[str]
    unknown: list[str]
    student_domain: str
    people: int


def build_directory(workdir: Path, seed: int) -> tuple[Path, Directory]:
    """A sample district generated and imported into a fresh home with the real CLI."""
    home = workdir / "home"
    shutil.rmtree(home, ignore_errors=True)
    district = generate(workdir / "district", seed=seed)
    steps = (
        ("init",),  # only init creates a store
        ("registry", "import", district.registry),
        ("directory", "import", "oneroster", district.roster),
        ("directory", "import", "people", district.people),
        ("directory", "import", "contacts", district.contacts),
    )
    start = time.perf_counter()
    for step in steps:
        done = subprocess.run(
            [sys.executable, "-c", CLI, *map(str, step)],
            env=chaperone_env(home),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"chaperone {' '.join(map(str, step[:3]))} failed:\n{done.stderr}")
    directory = read_directory(district.roster, district.contacts, district.people, seed)
    counts = ", ".join(f"{n:,} {kind}" for kind, n in district.counts.items())
    print(
        f"directory imported with the CLI in {time.perf_counter() - start:.1f} s into {home}: "
        f"{counts}"
    )
    print(
        f"  {directory.people:,} active people with an address; used: "
        f"{len(directory.staff):,} staff, {len(directory.students):,} "
        f"students, {len(directory.family):,} parents/guardians, {len(directory.staff_personal)} "
        f"staff personal (contacts.csv), {len(directory.unknown):,} unknown"
    )
    return home, directory


def chaperone_env(home: Path) -> dict[str, str]:
    """The environment of a chaperone subprocess using ``home``."""
    return {**os.environ, "CHAPERONE_HOME": str(home)}


def read_directory(roster: Path, contacts: Path, people: Path, seed: int) -> Directory:
    """Active staff, students and families from the roster; staff personal mail; unknowns."""
    with (roster / "users.csv").open(newline="") as handle:
        users = {
            row["sourcedId"]: row["email"].lower()
            for row in csv.DictReader(handle)
            if row["status"] == "active" and row["email"]
        }
    by_role: dict[str, set[str]] = {}
    with (roster / "roles.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["userSourcedId"] in users:
                by_role.setdefault(row["role"], set()).add(row["userSourcedId"])
    staff_ids = set().union(*(by_role.get(role, set()) for role in STAFF_ROLES))
    family_ids = set().union(*(by_role.get(role, set()) for role in FAMILY_ROLES))
    with contacts.open(newline="") as handle:
        personal = sorted(
            {
                row["value"].lower()
                for row in csv.DictReader(handle)
                if row["kind"] == "email"
                and row["person_id"] in staff_ids
                and row["district_owned"].lower() == "false"
            }
        )
    with people.open(newline="") as handle:
        outsiders = {row["email"].lower() for row in csv.DictReader(handle) if row["email"]}
    known = set(users.values()) | set(personal) | outsiders
    rng = random.Random(seed)
    unknown: set[str] = set()
    while len(unknown) < 2_000:
        local = f"{rng.choice(UNKNOWN_LOCALS)}{rng.randint(1, 99_999)}"
        address = f"{local}@{rng.choice(UNKNOWN_DOMAINS)}"
        if address not in known:
            unknown.add(address)
    return Directory(
        staff=sorted(users[i] for i in staff_ids),
        students=sorted(users[i] for i in by_role.get("student", set())),
        family=sorted(users[i] for i in family_ids - staff_ids),
        staff_personal=personal,
        unknown=sorted(unknown),
        student_domain=STUDENT_DOMAIN,
        people=len(users) + len(outsiders),
    )


# -------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Message:
    """The RCPT requests of one message (one SMTP session) and whether each is rejected."""

    kind: str
    requests: list[bytes]
    rejected: bool


def make_messages(directory: Directory, count: int, seed: int) -> list[Message]:
    """Messages adding up to ``count`` RCPT requests, drawn from the directory (seeded)."""
    rng = random.Random(seed)
    kinds = [kind for kind, _weight in MIX]
    weights = [weight for _kind, weight in MIX]
    staff_hosts = [
        (f"10.20.{i // 250}.{i % 250 + 2}", f"ws{i:03d}.example.k12.ny.us") for i in range(40)
    ]
    outside_hosts = [
        (
            f"{rng.randint(20, 220)}.{rng.randrange(256)}.{rng.randrange(256)}."
            f"{rng.randint(1, 254)}",
            f"mail-out{i}.{rng.choice(UNKNOWN_DOMAINS)}",
        )
        for i in range(200)
    ]
    messages: list[Message] = []
    written = 0
    while written < count:
        kind = rng.choices(kinds, weights)[0]
        sender, pool = pick(kind, directory, rng)
        recipients = rng.sample(pool, min(rng.choice(RECIPIENTS), count - written))
        internal = sender.endswith("@example.k12.ny.us") or sender.endswith(
            "@" + directory.student_domain
        )
        ip, host = rng.choice(staff_hosts if internal else outside_hosts)
        if rng.random() < 0.05:  # MAIL FROM as the user typed it: both servers ignore case
            sender = sender[:1].upper() + sender[1:]
        fields = {
            "host": host,
            "ip": ip,
            "sender": sender,
            "queue": f"{rng.getrandbits(40):010X}",
            "instance": f"{rng.getrandbits(48):x}.0",
            "sasl_method": "PLAIN" if internal else "",
            "sasl_user": sender if internal else "",
            "size": rng.randint(2_000, 90_000),
            "server_port": 587 if internal else 25,
            "client_port": rng.randint(1024, 65535),
        }
        requests = [TEMPLATE.format(recipient=r, **fields).encode() for r in recipients]
        messages.append(Message(kind, requests, kind == VIOLATION))
        written += len(requests)
    return messages


def pick(kind: str, directory: Directory, rng: random.Random) -> tuple[str, list[str]]:
    """The sender of a message of ``kind`` and the pool its recipients come from."""
    d = directory
    if kind == "staff -> student":
        return rng.choice(d.staff), d.students
    if kind == "staff -> family":
        return rng.choice(d.staff), d.family
    if kind == "family -> staff":
        return rng.choice(d.family), d.staff
    if kind == "student -> staff":
        return rng.choice(d.students), d.staff
    if kind == VIOLATION:
        return rng.choice(d.staff_personal), d.students
    if kind == "unknown -> student/staff":
        return rng.choice(d.unknown), d.students if rng.random() < 0.5 else d.staff
    return rng.choice(d.staff), d.unknown  # staff -> unknown


def shares(messages: Sequence[Message], connections: int) -> list[list[tuple[bytes, bool]]]:
    """Messages dealt round-robin to the connections (a message stays on one connection)."""
    out: list[list[tuple[bytes, bool]]] = [[] for _ in range(connections)]
    for index, message in enumerate(messages):
        out[index % connections] += [(r, message.rejected) for r in message.requests]
    return out


# --------------------------------------------------------------------------- clients


@dataclass
class Result:
    """One server driven over some connections."""

    server: str
    connections: int
    seconds: float
    latencies_ns: list[int]
    cpu_seconds: float | None
    right: int
    checked: int
    wrong: list[tuple[bytes, bytes]] = field(default_factory=list)
    load: float | None = None  # 1-minute load average at the end (the machine is shared)

    @property
    def requests(self) -> int:
        """Requests answered in the timed part."""
        return len(self.latencies_ns)

    @property
    def rate(self) -> float:
        """Requests per second over all connections."""
        return self.requests / self.seconds

    def percentile_ms(self, q: float) -> float:
        """The q-th latency percentile in milliseconds (nearest rank)."""
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] / 1e6

    @property
    def cpu_us(self) -> float | None:
        """Server CPU microseconds per request, when known."""
        return None if self.cpu_seconds is None else self.cpu_seconds / self.requests * 1e6


def exchange(sock: socket.socket, data: bytes) -> bytes:
    """Send one request and read its whole answer (ends with an empty line)."""
    sock.sendall(data)
    reply = sock.recv(4096)
    while not reply.endswith(b"\n\n"):
        more = sock.recv(4096)
        if not more:
            raise ConnectionError("server closed the connection without an answer")
        reply += more
    return reply


def client(
    port: int,
    work: list[tuple[bytes, bool]],
    warmup: int,
    start: threading.Barrier,
    latencies: list[int],
    replies: list[bytes],
) -> None:
    """One persistent connection: warm up, wait for the others, then send its share in order."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for data, _rejected in work[:warmup]:
            exchange(sock, data)
        start.wait()
        clock = time.perf_counter_ns
        recv, send = sock.recv, sock.sendall
        for data, _rejected in work:
            began = clock()
            send(data)
            reply = recv(4096)
            while not reply.endswith(b"\n\n"):
                more = recv(4096)
                if not more:
                    raise ConnectionError("server closed the connection without an answer")
                reply += more
            latencies.append(clock() - began)
            replies.append(reply)


def drive(
    name: str,
    port: int,
    messages: Sequence[Message],
    connections: int,
    warmup: int,
    root_pid: int | None,
    expect: Callable[[bool, bytes], bool],
) -> Result:
    """All requests over ``connections`` threads; wall time from the common start to the end."""
    work = shares(messages, connections)
    latencies: list[list[int]] = [[] for _ in work]
    replies: list[list[bytes]] = [[] for _ in work]
    start = threading.Barrier(connections + 1)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            client(port, work[i], warmup, start, latencies[i], replies[i])
        except BaseException as exc:  # reported below; the barrier must not hang
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: raised below
        start.wait()
    cpu_before = tree_cpu_seconds(root_pid)
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    cpu_after = tree_cpu_seconds(root_pid)
    if errors:
        raise RuntimeError(f"{name}: a client failed: {errors[0]!r}") from errors[0]
    right, wrong = 0, list[tuple[bytes, bytes]]()
    for share, answers in zip(work, replies, strict=True):
        for (data, rejected), reply in zip(share, answers, strict=True):
            if expect(rejected, reply):
                right += 1
            elif len(wrong) < 5:
                wrong.append((data, reply))
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Result(
        name,
        connections,
        seconds,
        [x for part in latencies for x in part],
        cpu,
        right,
        sum(map(len, replies)),
        wrong,
        os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    )


def policy_answer(rejected: bool, reply: bytes) -> bool:
    """A violation gets 550 5.7.1 with a reason; everything else DUNNO."""
    if rejected:
        return reply.startswith(REJECT_PREFIX) and len(reply) > len(REJECT_PREFIX) + 2
    return reply == DUNNO_ANSWER


def chaperone_answer(rejected: bool, reply: bytes) -> bool:
    """As ``policy_answer``, and the reject names the clause: ``Policy 9052 §A: …``."""
    if rejected:
        return reply.startswith(REJECT_PREFIX + "Policy 9052 §A: ".encode())
    return reply == DUNNO_ANSWER


def always_dunno(_rejected: bool, reply: bytes) -> bool:
    """The minimal server answers DUNNO to everything."""
    return reply == DUNNO_ANSWER


def tree_cpu_seconds(root: int | None) -> float | None:
    """User + system CPU of a process and its descendants (reaped children included)."""
    if root is None or not Path("/proc/self/stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    used: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        parent[int(entry)] = int(fields[1])
        used[int(entry)] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(used.get(pid, 0) for pid in tree) / tick


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """A running server under test."""

    name: str
    port: int
    pid: int
    expect: Callable[[bool, bytes], bool]
    note: str = ""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, alive: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Return once ``port`` accepts connections; fail if the server died or took too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{what} exited before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


@contextlib.contextmanager
def subprocess_server(
    name: str,
    argv: list[str],
    env: dict[str, str],
    log: Path,
    expect: Callable[[bool, bytes], bool],
    port: int,
    note: str = "",
) -> Iterator[Server]:
    """A server run as our child process; stopped with SIGTERM when done."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        started = time.perf_counter()
        wait_listening(port, lambda: proc.poll() is None, name)
        print(
            f"  {name} listening on 127.0.0.1:{port} after {time.perf_counter() - started:.1f} s"
            f" (log {log})"
        )
        yield Server(name, port, proc.pid, expect, note)
    finally:
        stopping = time.perf_counter()
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(f"  {name} stopped {time.perf_counter() - stopping:.1f} s after SIGTERM")


def chaperone_server(
    home: Path, workdir: Path, *, record: bool = True, source: Path | None = None,
    workers: int = 1,
) -> contextlib.AbstractContextManager[Server]:
    """``chaperone gateway`` on a free port, with the benchmark's home.

    ``record=False`` runs it with decision records turned off, to show what recording
    costs; ``source`` runs the ``chaperone`` package of another source tree instead (an
    older commit, exported with ``git archive``), for a comparison in the same run.
    """
    port = free_port()
    argv = [sys.executable, "-c", CLI, "gateway", "--listen", f"inet:127.0.0.1:{port}"]
    env = chaperone_env(home)
    loop = os.environ.get("CHAPERONE_GATEWAY_EVENT_LOOP", "uvloop")
    name, note, log = CHAPERONE, f"asyncio.Protocol on {loop}; 1 process", "chaperone-gateway"
    if not record:
        env["CHAPERONE_GATEWAY_RECORD_DECISIONS"] = "false"
        name, note, log = UNRECORDED, note + "; decision records off", log + "-unrecorded"
    if workers > 1:
        argv += ["--workers", str(workers)]
        name, note = f"{name}, {workers} workers", f"1 acceptor + {workers} workers on {loop}"
        log += f"-{workers}-workers"
    if source is not None:
        env["PYTHONPATH"] = str(source.resolve())
        name, note, log = f"chaperone gateway @ {source.name}", f"from {source}", log + "-source"
    return subprocess_server(name, argv, env, workdir / f"{log}.log", chaperone_answer, port, note)


def decision_records(home: Path, directory: Directory, messages: Sequence[Message]) -> None:
    """What the gateway recorded in the lake (published at its shutdown), checked."""
    layout = lake_path(home)
    files = decision_files(layout)
    if not files:
        print("  decision records: none in the lake")
        return
    listed = ", ".join(f"'{f}'" for f in files)
    personal = ", ".join(f"'{a}'" for a in directory.staff_personal)
    with connect() as db:
        row = db.execute(
            f"""SELECT count(*), count(*) FILTER (WHERE stopped),
            count(*) FILTER (WHERE stopped <> (sender IN ({personal}))),
            count(DISTINCT instance)
            FROM read_parquet([{listed}], union_by_name = true)"""
        ).fetchone()
    total, stopped, wrong, instances = row if row else (0, 0, 0, 0)
    spooled = len(list(layout.decision_spool.glob("*.parquet")))
    print(
        f"  decision records in the lake: {total:,} ({stopped:,} stopped) for {instances:,} of "
        f"the {len(messages):,} messages sent (each run repeats them; a repeat within two minutes "
        f"is the same record); {spooled} batches left in the spool; stopped exactly the "
        f"violations: {'PASS' if wrong == 0 and spooled == 0 else f'MISS ({wrong} wrong)'}"
    )


def minimal_server(
    workdir: Path, uvloop: bool = False
) -> contextlib.AbstractContextManager[Server]:
    """The minimal asyncio DUNNO server of this file, as a child process (``uvloop``: on
    uvloop's event loop, as the gateway runs by default; a reference row, not the goal's
    baseline)."""
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--minimal-server", str(port)]
    name, note, log = MINIMAL, "asyncio.Protocol; 1 process", "minimal"
    if uvloop:
        argv.append("--uvloop")
        name, note, log = MINIMAL_UVLOOP, note + "; uvloop", "minimal-uvloop"
    return subprocess_server(
        name, argv, dict(os.environ), workdir / f"{log}.log", always_dunno, port, note
    )


class DunnoProtocol(asyncio.Protocol):
    """Reads requests (``name=value`` lines up to an empty line), parses them, answers DUNNO."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport; start with an empty buffer."""
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.buffer = b""
        self.bad = 0

    def data_received(self, data: bytes) -> None:
        """Answer every complete request in the buffer."""
        self.buffer += data
        while (end := self.buffer.find(b"\n\n")) >= 0:
            block, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
            text = block.decode("utf-8", "replace")
            attributes = dict(line.partition("=")[::2] for line in text.split("\n"))
            self.bad += attributes.get("request") != "smtpd_access_policy"  # DUNNO too
            self.transport.write(DUNNO_ANSWER)


def serve_minimal(port: int, on_uvloop: bool) -> None:
    """Run the minimal server until SIGTERM."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(DunnoProtocol, "127.0.0.1", port)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with server:
            await stop.wait()

    if on_uvloop:
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())


# ---------------------------------------------------------------------------- postfwd


def postfwd_binary(install: bool) -> str | None:
    """Debian's postfwd2, installed with apt-get when missing (as root) and allowed."""

    def find() -> str | None:
        return shutil.which("postfwd2") or next(
            (p for p in ("/usr/sbin/postfwd2", "/usr/bin/postfwd2") if Path(p).exists()), None
        )

    found = find()
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("installing Debian's postfwd (apt-get install -y postfwd) …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "install", "-y", "-qq", "postfwd"],
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "postfwd"],
    ):
        subprocess.run(command, env=env, capture_output=True, check=False)
        if find():
            break
    return find()


def postfwd_version(binary: str) -> str:
    """``postfwd2 1.35`` as -V reports it (it exits 1)."""
    done = subprocess.run([binary, "-V"], capture_output=True, text=True, check=False)
    return " ".join(done.stdout.split()[:2]) or "postfwd2"


def write_postfwd_rules(workdir: Path, directory: Directory) -> Path:
    """The equivalent ruleset: staff personal sender to the students' domain -> 550, else DUNNO."""
    senders = workdir / "postfwd-staff-personal.txt"
    senders.write_text("\n".join(directory.staff_personal) + "\n")
    rules = workdir / "postfwd.cf"
    rules.write_text(
        "# Policy 9052 A, the part postfwd can say: staff personal address -> a student\n"
        f"id=9052-A-direct; recipient_domain=={directory.student_domain}; "
        f"sender==file:{senders.resolve()}; "
        "action=550 5.7.1 Policy 9052 A: direct communication from an account the district "
        "does not own\n"
    )
    return rules


@contextlib.contextmanager
def postfwd_server(
    binary: str, rules: Path, workdir: Path, cache: bool, version: str
) -> Iterator[Server]:
    """postfwd2 as a daemon (it has no foreground network mode) on a free port."""
    port = free_port()
    tag = "cache" if cache else "nocache"
    pidfile = workdir / f"postfwd-{tag}.pid"
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    argv = [
        binary,
        "-f",
        str(rules.resolve()),
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--pidfile",
        str(pidfile),
        "--cache_socket",
        f"unix::{(workdir / f'postfwd-{tag}-cache.sock').resolve()}",
        "--user",
        user,
        "--group",
        group,
        "--nodns",
        "--perfmon",
        "--summary",
        "0",
    ]
    # cache on: keyed on what the rule reads, so repeated sender/domain pairs are hits
    argv += (
        ["--cache", "600", "--cacheid", "sender,recipient_domain"] if cache else ["--cache", "0"]
    )
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"postfwd2 did not start: {done.stdout}{done.stderr}")
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text().strip():
        if time.monotonic() > deadline:
            raise RuntimeError("postfwd2 wrote no pidfile")
        time.sleep(0.1)
    pid = int(pidfile.read_text().split()[0])
    name = f"{version} ({'cache on' if cache else 'cache off'})"
    try:
        wait_listening(port, lambda: Path(f"/proc/{pid}").exists(), name, timeout=30)
        print(f"  {name} listening on 127.0.0.1:{port} (master pid {pid})")
        note = "prefork, 10+ processes" + (": cache by sender,recipient_domain" if cache else "")
        yield Server(name, port, pid, policy_answer, note)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            reap()
            time.sleep(0.1)
        reap()


def become_subreaper() -> None:
    """Adopt the daemons we start (postfwd2 double-forks), so their exit can be reaped."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def reap() -> None:
    """Collect exited adopted processes (only called with no other child to wait for)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


# -------------------------------------------------------------------------- measuring


def measure(
    server: Server, messages: Sequence[Message], connections: Sequence[int], warmup: int
) -> list[Result]:
    """The server over each number of connections, one after the other."""
    results = []
    for count in connections:
        result = drive(server.name, server.port, messages, count, warmup, server.pid, server.expect)
        show(result)
        results.append(result)
    return results


def show(result: Result) -> None:
    """One line per run as it finishes."""
    cpu = f"{result.cpu_us:,.0f} us CPU/req" if result.cpu_us is not None else ""
    load = f", load avg {result.load:.1f}" if result.load is not None else ""
    print(
        f"    {result.connections} conn: {result.requests:,} requests in {result.seconds:.1f} s"
        f" = {result.rate:,.0f} req/s, p50 {result.percentile_ms(50):.3f} ms, "
        f"p99 {result.percentile_ms(99):.3f} ms, {cpu}; answers right "
        f"{result.right:,}/{result.checked:,}{load}"
    )
    for data, reply in result.wrong:
        sender = next(x for x in data.split(b"\n") if x.startswith(b"sender="))
        recipient = next(x for x in data.split(b"\n") if x.startswith(b"recipient="))
        print(f"      WRONG {sender.decode()} {recipient.decode()} -> {reply!r}")


def table(results: Sequence[Result], notes: dict[str, str]) -> None:
    """All runs in one table."""
    print(
        f"\n{'server':<32} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU us/req':>10} {'answers right':>17}  how it runs"
    )
    for r in results:
        cpu = f"{r.cpu_us:,.0f}" if r.cpu_us is not None else "-"
        print(
            f"{r.server:<32} {r.connections:>5} {r.rate:>9,.0f} {r.percentile_ms(50):>8.3f} "
            f"{r.percentile_ms(99):>8.3f} {cpu:>10} {f'{r.right:,}/{r.checked:,}':>17}  "
            f"{notes.get(r.server, '')}"
        )


def verdicts(results: Sequence[Result]) -> None:
    """Ratios of each way chaperone ran to the other servers, and the goals for each."""
    names = list(dict.fromkeys(r.server for r in results))
    variants = [n for n in names if n.startswith(CHAPERONE)]
    others = sorted(set(names) - set(variants), key=lambda s: (not s.startswith("minimal"), s))
    runs = {name: {r.connections: r for r in results if r.server == name} for name in names}
    print("\nratios (chaperone req/s / other req/s)")
    for name in variants:
        ours = runs[name]
        for other in others + [v for v in variants if v != name and name == CHAPERONE]:
            theirs = runs[other]
            cells = [f"{n} conn {ours[n].rate / theirs[n].rate:5.2f}x" for n in ours if n in theirs]
            print(f"  {name} / {other:<34} " + "   ".join(cells))
    print("\ngoals")
    minimal = {r.connections: r for r in results if r.server == MINIMAL}
    for name in variants:
        ours = runs[name]
        widest = max(ours)
        if widest in minimal:
            ratio = ours[widest].rate / minimal[widest].rate
            print(
                f"  {name} >= {MINIMAL_GOAL:g}x minimal on {widest} connections: "
                f"{ratio:.2f}x  {'PASS' if ratio >= MINIMAL_GOAL else 'MISS'}"
            )
        for n, result in ours.items():
            p99 = result.percentile_ms(99)
            print(
                f"  {name} p99 < {P99_GOAL_MS:g} ms on {n} connection{'s' * (n > 1)}: "
                f"{p99:.3f} ms  {'PASS' if p99 < P99_GOAL_MS else 'MISS'}"
            )
    ours_all = [r for r in results if r.server in variants]
    checked = sum(r.checked for r in ours_all)
    right = sum(r.right for r in ours_all)
    print(
        f"  chaperone answers checked: {checked:,} (every answer of {len(ours_all)} runs), right "
        f"{right:,}  {'PASS' if right == checked else 'MISS'}"
    )


# -------------------------------------------------------------------------- profiling


def profile_decide(
    home: Path, messages: Sequence[Message], count: int, served: Result | None
) -> None:
    """In-process costs of the decision path, then cProfile of ``Decider.decide``.

    ``served`` (chaperone on one connection) gives the server's CPU per request, to set
    the in-process costs against: the rest is the connection loop around them.
    """
    settings = Settings.from_environment(os.environ, home=home)
    started = time.perf_counter()
    decider = build_decider(settings)
    gc.collect()
    gc.freeze()  # as the gateway does; and the runs' latencies and replies are not walked
    loaded = time.perf_counter() - started
    raw = [r for m in messages for r in m.requests][:count]
    blocks = [data.removesuffix(b"\n\n") for data in raw]
    seconds_parse, requests = timed(lambda: [parse(x) for x in blocks])
    seconds_decide, decisions = timed(lambda: [decider.decide(r) for r in requests])
    seconds_answer, _ = timed(lambda: [answer(postfix_action(d)) for d in decisions])
    journal = DecisionJournal(LakeLayout(home / "profile-lake"))

    def note_all() -> list[None]:
        for request, decision in zip(requests, decisions, strict=True):
            journal.note(request, decision, monitor=False)
        return []

    seconds_note, _ = timed(note_all)
    n = len(raw)
    rejected = sum(d.action == "REJECT" for d in decisions)
    print(f"\nin process, {n:,} requests ({rejected:,} rejected; decider built in {loaded:.2f} s):")
    for name, seconds in (
        ("protocol.parse", seconds_parse),
        ("Decider.decide", seconds_decide),
        ("postfix_action + answer", seconds_answer),
        ("DecisionJournal.note", seconds_note),
    ):
        print(f"  {name:<26} {seconds / n * 1e6:8.1f} us/request  {n / seconds:>10,.0f} /s")
    inside = (seconds_parse + seconds_decide + seconds_answer + seconds_note) / n * 1e6
    if served is not None and served.cpu_us is not None:
        rest = served.cpu_us - inside
        print(
            f"  chaperone gateway on 1 connection used {served.cpu_us:,.0f} us of server CPU per "
            f"request: {inside:,.0f} us ({inside / served.cpu_us:.0%}) is parse + decide + answer"
            " + note;"
            f"\n  the other {rest:,.0f} us ({rest / served.cpu_us:.0%}) is the connection loop "
            "around them (the event loop, socket reads and writes, framing, the journal's flush)"
        )
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [decider.decide(r) for r in requests])
    print(f"\ncProfile of Decider.decide over {n:,} requests (top 15, cumulative):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(15)


def timed(work: Callable[[], list[T]]) -> tuple[float, list[T]]:
    """Seconds one call took, and what it returned."""
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


# ------------------------------------------------------------------------------ main


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--requests", type=int, default=100_000, help="RCPT requests per run")
    parser.add_argument("--workdir", type=Path, help="keep the home, files and logs here")
    parser.add_argument("--seed", type=int, default=9052)
    parser.add_argument("--connections", default="1,8", help="comma-separated (default 1,8)")
    parser.add_argument(
        "--warmup", type=int, default=500, help="untimed requests per connection before each run"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=20_000,
        metavar="K",
        help="cProfile Decider.decide over K requests (0: skip)",
    )
    parser.add_argument("--no-postfwd", action="store_true", help="skip postfwd")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="comma-separated worker counts to run chaperone with (default 1,2; 1: one process)",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        metavar="DIR",
        help="also run chaperone from the src folder of another tree (e.g. an older commit)",
    )
    parser.add_argument(
        "--unrecorded",
        action="store_true",
        help="also run chaperone with decision records off (what recording costs)",
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="do not apt-get install postfwd when it is missing",
    )
    parser.add_argument(
        "--minimal-uvloop",
        action="store_true",
        help="also run the minimal server on uvloop (a reference; the goal's baseline stays "
        "the standard asyncio loop)",
    )
    parser.add_argument("--minimal-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--uvloop", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Build the directory, measure every server, print the table, goals and profile."""
    args = arguments(argv)
    if args.minimal_server:
        serve_minimal(args.minimal_server, args.uvloop)
        return
    connections = [int(x) for x in args.connections.split(",")]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="chaperone-gateway-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    become_subreaper()
    print(
        f"chaperone gateway benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; clients: "
        f"{'/'.join(map(str, connections))} threads in this process"
    )
    try:
        home, directory = build_directory(workdir, args.seed)
        messages = make_messages(directory, args.requests, args.seed)
        total = sum(len(m.requests) for m in messages)
        rejected = sum(len(m.requests) for m in messages if m.rejected)
        size = sum(len(r) for m in messages for r in m.requests) / total
        print(
            f"requests: {total:,} RCPT requests in {len(messages):,} messages, "
            f"{rejected:,} should be rejected, ~{size:.0f} bytes each"
        )
        for kind, _weight in MIX:
            count = sum(len(m.requests) for m in messages if m.kind == kind)
            print(f"  {kind:<28} {count:>8,}")
        binary = None if args.no_postfwd else postfwd_binary(not args.no_install)
        if not args.no_postfwd and binary is None:
            print("postfwd2 not found (and not installed): its rows are skipped")
        servers: list[Callable[[], contextlib.AbstractContextManager[Server]]] = [
            lambda: minimal_server(workdir),
            lambda: chaperone_server(home, workdir),
        ]
        if args.minimal_uvloop:
            servers.insert(1, lambda: minimal_server(workdir, uvloop=True))
        for count in sorted({int(w) for w in args.workers.split(",")} - {1}):
            servers.append(functools.partial(chaperone_server, home, workdir, workers=count))
        if args.unrecorded:
            servers.append(lambda: chaperone_server(home, workdir, record=False))
        if args.baseline_src:
            servers.append(lambda: chaperone_server(home, workdir, source=args.baseline_src))
        if binary:
            version = postfwd_version(binary)
            rules = write_postfwd_rules(workdir, directory)
            servers += [
                lambda: postfwd_server(binary, rules, workdir, False, version),
                lambda: postfwd_server(binary, rules, workdir, True, version),
            ]
        results: list[Result] = []
        notes: dict[str, str] = {}
        for start in servers:
            with start() as server:
                notes[server.name] = server.note
                results += measure(server, messages, connections, args.warmup)
            if server.name.startswith(CHAPERONE):
                decision_records(home, directory, messages)
        table(results, notes)
        verdicts(results)
        if args.profile:
            single = [r for r in results if r.server == CHAPERONE and r.connections == 1]
            profile_decide(home, messages, args.profile, single[0] if single else None)
    finally:
        reap()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
