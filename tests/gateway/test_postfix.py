"""A real Postfix (Debian's package) asks the gateway about each recipient on loopback.

The test writes the default instance's main.cf/master.cf (saving and restoring any
that exist), starts Postfix and `chaperone gateway`, and sends mail with smtplib.
`make test` installs Postfix; run outside it, the test skips with the reason. On
SIGTERM the gateway records its decisions in the lake, which the first test reads.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from chaperone.lake import decisions
from chaperone.lake.writer import lake_path
from chaperone.settings import Settings
from tests.audit.world import load_world
from tests.conftest import Cli
from tests.postfix import SMTP_PORT, delivered, free_port, running, wait_for

RUN_GATEWAY = "from chaperone.cli import main; main()"
GATEWAY_RESTRICTIONS = """check_policy_service inet:127.0.0.1:{policy},
    permit_mynetworks, reject"""


@pytest.fixture
def postfix() -> Iterator[tuple[Path, int]]:
    policy = free_port()
    with running(
        GATEWAY_RESTRICTIONS.format(policy=policy),
        extra=f"smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:{policy}",
    ) as mail:
        yield mail, policy


@pytest.fixture
def gateway(cli: Cli, settings: Settings, tmp_path: Path,
            postfix: tuple[Path, int]) -> Iterator[tuple[Path, int, dict[str, str]]]:
    load_world(cli, tmp_path / "world")
    mail, policy = postfix
    env = {**os.environ, "CHAPERONE_HOME": str(settings.home)}
    env.pop("CHAPERONE_DATABASE_URL", None)
    yield mail, policy, env


def start_gateway(policy: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_GATEWAY, "gateway", "--listen", f"inet:127.0.0.1:{policy}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(policy)
    return process


def send(sender: str, recipient: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, recipient, "Practice moved"
    message.set_content("Practice is at 4 today.")
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=30) as smtp:
        smtp.send_message(message)


def test_off_channel_mail_is_rejected_and_compliant_mail_delivered(
    gateway: tuple[Path, int, dict[str, str]],
) -> None:
    mail, policy, env = gateway
    process = start_gateway(policy, env)
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send("t1home@gmail.com", "s1@students.district.k12.us")
        code, text = refused.value.recipients["s1@students.district.k12.us"]
        reply = text.decode("utf-8", "replace")
        assert code == 550 and reply.startswith("5.7.1 ")
        assert "Policy 9052 \u00a7A: Direct communication" in reply
        assert reply.endswith("use your district.k12.us address or ParentSquare")
        assert delivered(mail, seconds=1) == []
        send("t1@district.k12.us", "s1@students.district.k12.us")
        assert len(delivered(mail)) == 1
    finally:
        process.terminate()  # SIGTERM: the gateway records its decisions on the way out
        process.wait(30)
    logged = decisions.recent(lake_path(Path(env["CHAPERONE_HOME"])), limit=10)
    assert sorted((d["sender"], d["action"], d["stopped"], d["protocol_state"]) for d in logged) \
        == [("t1@district.k12.us", "DUNNO", False, "END-OF-MESSAGE"),
            ("t1home@gmail.com", "REJECT", True, "RCPT")]


def test_hold_lands_in_the_hold_queue(gateway: tuple[Path, int, dict[str, str]]) -> None:
    _mail, policy, env = gateway
    env["CHAPERONE_GATEWAY_ACTIONS"] = "9052-A-direct=HOLD"
    process = start_gateway(policy, env)
    try:
        send("t1home@gmail.com", "s1@students.district.k12.us")
        deadline = time.monotonic() + 20
        held = ""
        while time.monotonic() < deadline and "t1home@gmail.com" not in held:
            held = subprocess.run(["postqueue", "-j"], capture_output=True, text=True).stdout
            time.sleep(0.3)
        assert '"queue_name": "hold"' in held and "t1home@gmail.com" in held
    finally:
        process.terminate()
        process.wait(10)
        subprocess.run(["postsuper", "-d", "ALL", "hold"], capture_output=True)
