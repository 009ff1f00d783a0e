"""Checkpoints of the audit log's head, kept outside the store: one JSON line per checkpoint
appended to a file, and the same as a syslog line where the system has syslog.

A checkpoint says "on <at> the log reached entry <seq>, whose MAC was <mac>". Someone who
can change the database but not these files cannot make the log end before a checkpointed
entry, or put a different entry there, without `verify` noticing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from chaperone.store.keys import AuditLogKeys

SYSLOG_IDENT = "chaperone-audit-log"


@dataclass(frozen=True)
class Checkpoint:
    """The head of the log at one moment."""

    at: dt.datetime
    seq: int
    mac: str

    def line(self) -> str:
        """The checkpoint as one line of the checkpoint file."""
        return json.dumps(
            {"at": self.at.isoformat(timespec="seconds"), "seq": self.seq, "mac": self.mac}
        )

    def __str__(self) -> str:
        return f"the checkpoint of {self.at.isoformat(timespec='seconds')}"


def write(keys: AuditLogKeys, *, seq: int, mac: str) -> Checkpoint:
    """Append a checkpoint of entry `seq` to the checkpoint file (and syslog)."""
    checkpoint = Checkpoint(dt.datetime.now(dt.UTC), seq, mac)
    path = keys.checkpoint_file
    path.parent.mkdir(parents=True, exist_ok=True)
    # One short write on an O_APPEND descriptor: lines from concurrent writers never interleave.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (checkpoint.line() + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if keys.syslog:
        _syslog(f"checkpoint seq={seq} mac={mac} at={checkpoint.at.isoformat()}")
    return checkpoint


def read(path: Path) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint in the file (none when it does not exist), and its unreadable lines."""
    if not path.exists():
        return [], []
    found: list[Checkpoint] = []
    problems: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                item = json.loads(text)
                at = dt.datetime.fromisoformat(item["at"])
                found.append(Checkpoint(at, int(item["seq"]), str(item["mac"])))
            except (ValueError, KeyError, TypeError):
                problems.append(f"{path}:{number}: not a checkpoint (the file was edited)")
    return found, problems


def _syslog(message: str) -> None:
    try:
        import syslog
    except ImportError:  # not on this platform: the file is the checkpoint
        return
    syslog.openlog(SYSLOG_IDENT, syslog.LOG_PID, syslog.LOG_AUTH)
    syslog.syslog(syslog.LOG_NOTICE, message)
    syslog.closelog()
