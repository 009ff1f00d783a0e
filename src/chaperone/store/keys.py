"""Keys held outside the store: a file of 32 random bytes (hex), created 0600 on first use.

A copy of the database alone must not let anyone forge what the key protects, so such keys
never go into the database; the store is opened with them (see `db.open_store`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from chaperone.common.problems import ChaperoneError

# Where an opened store's sessions carry the audit log's key (Session.info[AUDIT_LOG]).
AUDIT_LOG = "chaperone.audit_log"


@dataclass(frozen=True)
class AuditLogKeys:
    """What the audit log needs from outside the store: its key and where checkpoints go."""

    key: bytes = field(repr=False)  # never in a traceback or a log line
    checkpoint_file: Path
    syslog: bool = True


def key_from_file(path: Path) -> bytes:
    """The 32-byte key kept in `path`, created (mode 0600) when the file does not exist."""
    try:
        if not path.exists():
            _create(path)
        if path.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH):
            raise ChaperoneError(
                f"{path}: the key file is readable or writable by every user; chmod 600 it"
            )
        text = path.read_text("ascii", errors="replace").strip()
    except OSError as problem:
        raise ChaperoneError(f"{path}: cannot use the key file: {problem.strerror}") from problem
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ChaperoneError(f"{path}: not a key file (64 hexadecimal digits expected)")
    return key


def _create(path: Path) -> None:
    """Write a new key beside `path` and link it into place, so no reader sees half a file
    and two processes starting at once keep the same key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: theirs wins
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
