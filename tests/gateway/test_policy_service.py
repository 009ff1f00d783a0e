"""The policy service over a real socket: decisions, malformed and oversized requests,
clients that vanish mid-request, and 50 concurrent connections."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaperone.gateway.server import Limits, PolicyServer
from chaperone.gateway.service import build_decider, watch
from chaperone.settings import Settings
from tests.audit.world import load_world
from tests.conftest import Cli


def request(sender: str, recipient: str, *, state: str = "RCPT", instance: str = "i1") -> bytes:
    return (
        "request=smtpd_access_policy\nprotocol_state={state}\nprotocol_name=ESMTP\n"
        f"sender={sender}\nrecipient={recipient}\ninstance={instance}\nqueue_id=ABC\n"
        "client_address=127.0.0.1\nunknown_future_attribute=ignored\n\n"
    ).replace("{state}", state).encode()


class Service:
    """A PolicyServer on an ephemeral port, in its own event loop thread."""

    def __init__(self, server: PolicyServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        async def start() -> None:
            self.listener = await server.serve("inet:127.0.0.1:0")
            started.set()

        self.thread = threading.Thread(target=self._run, args=(start,), daemon=True)
        self.thread.start()
        started.wait(10)
        self.port = self.listener.sockets[0].getsockname()[1]

    def _run(self, start: object) -> None:
        self.loop.run_until_complete(start())  # type: ignore[operator]
        self.loop.run_forever()

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def ask(self, data: bytes, sock: socket.socket | None = None) -> str:
        own = sock or self.connect()
        own.sendall(data)
        reply = b""
        while not reply.endswith(b"\n\n"):
            chunk = own.recv(4096)
            assert chunk, "connection closed without an answer"
            reply += chunk
        if sock is None:
            own.close()
        return reply.decode()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    async def _shutdown(self) -> None:
        self.listener.close()
        self.server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)


@pytest.fixture
def world(cli: Cli, tmp_path: Path, settings: Settings) -> Settings:
    load_world(cli, tmp_path / "world")
    return settings


@pytest.fixture
def service(world: Settings) -> Iterator[Service]:
    running = Service(PolicyServer(build_decider(world), Limits(max_request_bytes=4096)))
    yield running
    running.stop()


def test_off_channel_mail_is_rejected_with_the_clause_and_the_alternative(service: Service) -> None:
    reply = service.ask(request("T1Home@Gmail.com", "s1@students.district.k12.us"))
    assert reply == (
        "action=550 5.7.1 Policy 9052 §A: Direct communication from or to an account the "
        "district does not own; use your district.k12.us address or ParentSquare\n\n"
    )


def test_compliant_and_unknown_mail_flows(service: Service) -> None:
    assert service.ask(request("t1@district.k12.us", "s1@students.district.k12.us")) == \
        "action=DUNNO\n\n"
    assert service.ask(request("news@list.example", "t1@district.k12.us")) == "action=DUNNO\n\n"
    assert service.ask(request("", "t1@district.k12.us")) == "action=DUNNO\n\n"  # bounces


def test_end_of_message_judges_all_recipients_of_the_instance(service: Service) -> None:
    with service.connect() as sock:
        assert "DUNNO" in service.ask(request("t1@district.k12.us", "t2@district.k12.us",
                                              instance="m1"), sock)
        assert "DUNNO" in service.ask(request("t1@district.k12.us", "p1@gmail.com",
                                              instance="m1"), sock)
        final = service.ask(request("t1@district.k12.us", "", state="END-OF-MESSAGE",
                                    instance="m1"), sock)
    assert final == "action=DUNNO\n\n"


@pytest.mark.parametrize(
    "bad",
    [b"garbage without equals\n\n", b"request=smtpd_access_policy\n=nameless\n\n",
     b"request=something_else\nsender=a@b\n\n", b"\n", b"\xff\xfe\x00=\x01\n\n",
     b"request=smtpd_access_policy\n" + b"x=" + b"y" * 10000 + b"\n\n"],
    ids=["no equals", "no name", "wrong request", "empty", "binary", "oversized"],
)
def test_bad_requests_get_the_fail_safe_answer_and_the_connection_lives(
    service: Service, bad: bytes
) -> None:
    with service.connect() as sock:
        assert service.ask(bad, sock) == "action=DUNNO\n\n"
        assert "550 5.7.1" in service.ask(request("t1home@gmail.com", "s1@gmail.com"), sock)


def test_a_client_that_vanishes_mid_request_harms_no_one(service: Service) -> None:
    for _ in range(5):
        with service.connect() as sock:
            sock.sendall(b"request=smtpd_access_policy\nsender=t1home@gmail.com\n")
    assert "550" in service.ask(request("t1home@gmail.com", "s1@students.district.k12.us"))


def test_fifty_concurrent_connections_are_all_answered(service: Service) -> None:
    answers: list[str] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with service.connect() as sock:
            for i in range(20):
                sender = "t1home@gmail.com" if (n + i) % 2 else "t1@district.k12.us"
                reply = service.ask(request(sender, "s1@students.district.k12.us"), sock)
                with lock:
                    answers.append(reply)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 1000
    assert sum("550 5.7.1" in a for a in answers) == 500
    assert sum(a == "action=DUNNO\n\n" for a in answers) == 500


def test_monitor_mode_and_configured_actions(world: Settings) -> None:
    monitor = build_decider(world.model_copy(update={"gateway_mode": "monitor"}))
    hold = build_decider(world.model_copy(update={"gateway_actions": {"9052-A-direct": "HOLD"}}))
    for decider, expected in ((monitor, "action=DUNNO"), (hold, "action=HOLD Policy 9052 §A")):
        running = Service(PolicyServer(decider, Limits()))
        try:
            reply = running.ask(request("t1home@gmail.com", "s1@students.district.k12.us"))
        finally:
            running.stop()
        assert reply.startswith(expected)


def test_requests_sent_ahead_split_or_with_crlf_are_each_answered(service: Service) -> None:
    rejected = request("t1home@gmail.com", "s1@students.district.k12.us")
    with service.connect() as sock:
        sock.sendall(rejected + request("t1@district.k12.us", "s1@students.district.k12.us"))
        replies = b""
        while replies.count(b"\n\n") < 2:
            replies += sock.recv(4096)
        assert replies.startswith(b"action=550 5.7.1") and replies.endswith(b"action=DUNNO\n\n")
        sock.sendall(rejected[:300])
        time.sleep(0.2)
        assert "550 5.7.1" in service.ask(rejected[300:], sock)
        assert "550 5.7.1" in service.ask(rejected.replace(b"\n", b"\r\n"), sock)


def test_idle_and_surplus_connections_are_closed(world: Settings) -> None:
    running = Service(PolicyServer(build_decider(world),
                                   Limits(idle_seconds=0.5, max_connections=2)))
    try:
        first, second = running.connect(), running.connect()
        assert "550 5.7.1" in running.ask(request("t1home@gmail.com", "s1@gmail.com"), first)
        with running.connect() as third:
            assert third.recv(100) == b""  # refused: two are served already
        for _ in range(4):  # a request trickling in does not keep its connection open
            second.sendall(b"x")
            time.sleep(0.2)
        assert second.recv(100) == b""
        time.sleep(0.5)
        assert first.recv(100) == b""  # idle since its answer
        first.close()
        second.close()
        with running.connect() as fresh:
            assert "550 5.7.1" in running.ask(request("t1home@gmail.com", "s1@gmail.com"), fresh)
    finally:
        running.stop()


def test_a_change_in_the_store_is_picked_up_without_a_signal(world: Settings, cli: Cli) -> None:
    """An exception granted while the gateway runs is honoured within
    ``gateway_reload_seconds``, on the connection already open."""
    quick = world.model_copy(update={"gateway_reload_seconds": 0.2})
    server = PolicyServer(build_decider(quick), Limits(), reload=lambda: build_decider(quick))
    running = Service(server)
    watching = asyncio.run_coroutine_threadsafe(watch(quick, server), running.loop)
    off_channel = request("t1home@gmail.com", "s1@gmail.com")
    try:
        with running.connect() as sock:
            assert "550 5.7.1" in running.ask(off_channel, sock)
            time.sleep(0.5)  # nothing changed: the same snapshot keeps answering
            assert "550 5.7.1" in running.ask(off_channel, sock)
            today = dt.date.today()
            cli.ok("exceptions", "grant", "T1", "--from", str(today - dt.timedelta(days=1)),
                   "--until", str(today + dt.timedelta(days=1)), "--reason", "trip",
                   "--by", "compliance.officer")
            deadline = time.monotonic() + 20
            while "550" in running.ask(off_channel, sock) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert running.ask(off_channel, sock) == "action=DUNNO\n\n"
    finally:
        watching.cancel()
        running.stop()
