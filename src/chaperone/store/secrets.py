"""Secrets the application generates once and keeps in the store, shared by every server,
and the one secret kept outside it: the acknowledgment link key.

A link key in the store would let a copy of the database alone rebuild every working
acknowledgment link (the nonces sit beside it), so it lives in a key file (0600; the
``ack_link_key_file`` setting, else ``ack-links.key`` in home), whose path the store's
sessions carry in ``Session.info[ACK_LINK_KEY]`` (see ``db.open_store``).

Upgrading keeps links already sent working: when the file does not exist yet and the store
still holds the key it used to keep (``app_secrets`` row ``ack-links``), the file is written
with that key and the row is deleted in the same transaction. If the transaction rolls
back, the file stays and the row too; the next use finds both equal and deletes the row.
With neither file nor row, a new key is made only while no notice exists: otherwise every
link sent would silently stop working, so the use is refused, naming the file to restore.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.common.problems import ChaperoneError
from chaperone.store.models import AppSecret, Notice

ACK_LINK_KEY = "chaperone.ack_link_key_file"
LINK_SECRET = "ack-links"  # the app_secrets row that held the key before the key file


def app_secret(session: Session, name: str) -> bytes:
    """The named 32-byte secret, generated on first use."""
    stored = session.get(AppSecret, name)
    if stored is None:
        stored = AppSecret(name=name, value=secrets.token_hex(32))
        session.add(stored)
        session.flush()
    return bytes.fromhex(stored.value)


def link_key(session: Session) -> bytes:
    """The acknowledgment link key, from its file (seeded from the store once, see above)."""
    path = session.info.get(ACK_LINK_KEY)
    if not isinstance(path, Path):
        raise ChaperoneError("the store was opened without the acknowledgment link key file")
    stored = session.get(AppSecret, LINK_SECRET)
    if not path.exists():
        if stored is not None:
            _write(path, stored.value)
        elif session.scalar(select(Notice.id).limit(1)) is not None:
            raise ChaperoneError(
                f"{path}: the acknowledgment link key file is missing, and links were sent "
                "with it; restore the file from a backup (or set ack_link_key_file to it)"
            )
        else:
            _write(path, secrets.token_hex(32))
    key = _read(path)
    if stored is not None and bytes.fromhex(stored.value) == key:
        session.delete(stored)  # moved out of the store: a copy of it holds no working link
        session.flush()
    return key


def _read(path: Path) -> bytes:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ChaperoneError(f"{path}: other users may read the key file; chmod 600 it")
    text = path.read_text("ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ChaperoneError(f"{path}: not a key file (64 hexadecimal digits expected)")
    return key


def _write(path: Path, value: str) -> None:
    """Write the key beside ``path`` and link it into place: no reader sees half a file, and
    of two processes starting at once the first one's key is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(value + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
