"""A real Postfix (Debian's package) on loopback, for the tests that talk SMTP.

`running(restrictions, ...)` writes the default instance's main.cf/master.cf (saving and
restoring any that exist), starts Postfix with an SMTP listener on ``SMTP_PORT`` and
delivers every accepted message for ``domains`` into ``<mail>/inbox/`` (a Maildir).
`make test` installs Postfix; without it (or without root) the caller skips with the
reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
CONFIG = Path("/etc/postfix")
SMTP_PORT = 2525
DOMAINS = ("district.k12.us", "students.district.k12.us", "gmail.com")

MAIN_CF = """\
compatibility_level = 3.6
myhostname = mx.district.k12.us
mydomain = district.k12.us
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
smtputf8_enable = yes
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {mail}
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
smtpd_recipient_restrictions = {restrictions}
{extra}
maillog_file = {mail}/postfix.log
maillog_file_prefixes = /var, /dev/stdout, /tmp
"""
MASTER_SMTP = f"127.0.0.1:{SMTP_PORT} inet n - n - - smtpd\n"
NOBODY = 65534


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, seconds: float = 30) -> None:
    """Wait until something listens on a loopback port."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


@contextmanager
def running(
    restrictions: str, *, extra: str = "", domains: Sequence[str] = DOMAINS
) -> Iterator[Path]:
    """Postfix with these recipient restrictions; yields the folder mail is delivered to."""
    if not Path(POSTFIX).exists() or os.geteuid() != 0:
        pytest.skip("needs Debian's postfix package and root (make test installs it)")
    # Postfix's delivery agent runs as nobody: the mailbox must be reachable by it,
    # which pytest's private tmp_path is not.
    mail = Path(tempfile.mkdtemp(prefix="chaperone-postfix-", dir="/tmp"))
    mail.chmod(0o755)
    os.chown(mail, NOBODY, NOBODY)
    saved = {n: (CONFIG / n).read_bytes() for n in ("main.cf", "master.cf") if (CONFIG / n).exists()}
    try:
        (CONFIG / "main.cf").write_text(
            MAIN_CF.format(
                mail=mail,
                uid=NOBODY,
                gid=NOBODY,
                domains=" ".join(domains),
                restrictions=restrictions,
                extra=extra,
            )
        )
        master = saved.get("master.cf", b"").decode()
        (CONFIG / "master.cf").write_text(
            MASTER_SMTP + master.replace("\nsmtp      inet", "\n#smtp inet")
        )
        subprocess.run([POSTFIX, "stop"], capture_output=True)
        subprocess.run([POSTFIX, "start"], check=True, capture_output=True)
        wait_for(SMTP_PORT)
        yield mail
    finally:
        subprocess.run([POSTFIX, "stop"], capture_output=True)
        for name, data in saved.items():
            (CONFIG / name).write_bytes(data)
        for name in {"main.cf", "master.cf"} - set(saved):
            (CONFIG / name).unlink(missing_ok=True)
        shutil.rmtree(mail, ignore_errors=True)


def delivered(mail: Path, seconds: float = 20, *, count: int = 1) -> list[Path]:
    """The messages delivered to the inbox, once at least ``count`` are there (or the
    time is up)."""
    deadline = time.monotonic() + seconds
    found: list[Path] = []
    while time.monotonic() < deadline:
        inbox = mail / "inbox"
        found = sorted(p for p in inbox.rglob("*") if p.is_file()) if inbox.exists() else []
        if len(found) >= count:
            return found
        time.sleep(0.2)
    return found
