"""``slack``: a Slack workspace export, a folder or a zip, read as one source.

The export holds ``users.json``, the conversation lists (``channels.json``, and when the
plan allows it ``groups.json``, ``mpims.json`` and ``dms.json``) and one folder per
conversation of ``YYYY-MM-DD.json`` files, each a JSON array of messages.

- A user is their ``profile.email`` (normalised as the directory does); a user without
  an e-mail address, or one the export does not list, is ``slack:<user id>`` in lower case.
- Each message between people is a ``chat`` record from its author to the
  conversation's other members. A bot's message without a user is from ``slack:<bot id>``.
- System events (joins, topic changes, pins, edits…, ``SYSTEM_SUBTYPES``) are not
  communications: they are not items at all, neither records nor quarantine.
- A day file that cannot be read or parsed is one rejected item; a message without a
  ``ts`` or an author is one rejected item.
- A zip is read in place (never extracted); a member larger than four times
  ``max_message_bytes`` is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chaperone.common.addresses import normalize_email
from chaperone.common.problems import InputError, Problem
from chaperone.ingest.connectors.base import Connector
from chaperone.ingest.record import utf8
from chaperone.lake.schema import Item, Record, Rejected, stable_id

#: Message subtypes that record something happening to a conversation, not a
#: communication between people. They are not read as items.
SYSTEM_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "channel_convert_to_private",
        "channel_convert_to_public",
        "channel_posting_permissions",
        "group_join",
        "group_leave",
        "group_topic",
        "group_purpose",
        "group_name",
        "group_archive",
        "group_unarchive",
        "pinned_item",
        "unpinned_item",
        "bot_add",
        "bot_remove",
        "bot_enable",
        "bot_disable",
        "app_conversation_join",
        "app_conversation_leave",
        "reminder_add",
        "reminder_delete",
        "joiner_notification",
        "joiner_notification_for_inviter",
        "ekm_access_denied",
        "tombstone",
        "message_changed",
        "message_deleted",
        "message_replied",
    }
)
#: Subtypes whose ``file`` is a file shared earlier, not one attached to this message.
FILE_REFERENCE_SUBTYPES = frozenset({"file_comment", "file_mention"})
#: Conversation lists, in the order a folder name is looked up in them.
CONVERSATION_LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")
USERS = "users.json"
DAY_FILE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\.json$")
TS = re.compile(r"^([0-9]{1,15})(?:\.([0-9]{1,9}))?$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# What reading one zip member or file can raise besides running out of bytes.
_READ_ERRORS = (
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    zipfile.BadZipFile,
    zlib.error,
)


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


@dataclass(frozen=True)
class _Conversation:
    """A channel, private channel, group DM or DM, as its folder names it."""

    id: str
    members: tuple[str, ...] | None  # user ids; None when the export does not list them


class _Tree:
    """The files of an export, by posix name relative to the export's root."""

    def names(self) -> list[str]:
        raise NotImplementedError  # the folder and zip trees implement it

    def read(self, name: str, limit: int) -> bytes:
        """The bytes of a file, or _TooLarge when it holds more than ``limit``."""
        raise NotImplementedError  # the folder and zip trees implement it


class _FolderTree(_Tree):
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        names = []
        for top in self.root.iterdir():
            if _hidden(top.name):
                continue
            if top.is_file():
                names.append(top.name)
            elif top.is_dir():
                names += [
                    f"{top.name}/{f.name}"
                    for f in top.iterdir()
                    if f.is_file() and not _hidden(f.name)
                ]
        return names

    def read(self, name: str, limit: int) -> bytes:
        path = self.root / name
        size = path.stat().st_size
        if size > limit:
            raise _TooLarge(size)
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise _TooLarge(len(data))
        return data


class _ZipTree(_Tree):
    def __init__(self, archive: zipfile.ZipFile, prefix: str) -> None:
        self.archive = archive
        self.files: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            if info.is_dir() or not info.filename.startswith(prefix):
                continue
            parts = info.filename[len(prefix) :].split("/")
            if len(parts) <= 2 and all(p and not _hidden(p) for p in parts):
                self.files["/".join(parts)] = info

    def names(self) -> list[str]:
        return list(self.files)

    def read(self, name: str, limit: int) -> bytes:
        info = self.files[name]
        if info.file_size > limit:
            raise _TooLarge(info.file_size)
        with self.archive.open(info) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise _TooLarge(len(data))
        return data


class SlackConnector(Connector):
    """Reads a Slack workspace export: every message between people is a chat record."""

    kind = "slack"
    description = "Slack workspace export (folder or zip): users.json, channels.json, day files"

    def sources(self, path: Path) -> list[Path]:
        """The export, folder or zip, is one source."""
        return [path]

    def read(self, source: Path) -> Iterator[Item]:
        """Every message of every conversation, by folder and day."""
        if source.is_dir():
            yield from self._export(source, _FolderTree(_folder_root(source)))
            return
        if not (source.is_file() and zipfile.is_zipfile(source)):
            raise InputError([Problem(str(source), None, "not a Slack export (a folder or a zip)")])
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InputError([Problem(str(source), None, f"unreadable zip ({exc})")]) from exc
        with archive:
            yield from self._export(source, _ZipTree(archive, _zip_prefix(archive)))

    @property
    def _limit(self) -> int:
        return self.context.max_message_bytes * 4

    def _export(self, source: Path, tree: _Tree) -> Iterator[Item]:
        names = set(tree.names())
        if USERS not in names:
            raise InputError([Problem(str(source), None, "not a Slack export (no users.json)")])
        users = _users(self._metadata(source, tree, USERS))
        conversations: dict[str, _Conversation] = {}
        by_id: dict[str, _Conversation] = {}
        for listing in CONVERSATION_LISTS:
            if listing in names:
                _index(self._metadata(source, tree, listing), conversations, by_id)
        for id_, conversation in by_id.items():
            conversations.setdefault(id_, conversation)
        days = sorted(
            tuple(n.split("/")) for n in names if "/" in n and DAY_FILE.match(n.split("/")[1])
        )
        for folder, day in days:
            yield from self._day(source, tree, folder, day, conversations.get(folder), users)

    def _metadata(self, source: Path, tree: _Tree, name: str) -> object:
        """A top-level JSON file; the whole export fails when one cannot be read."""
        try:
            return json.loads(tree.read(name, self._limit).decode("utf-8-sig"))
        except _TooLarge as exc:
            reason = f"larger than {self._limit} bytes ({exc.size})"
        except UnicodeDecodeError:
            reason = "not UTF-8 text"
        except (ValueError, RecursionError) as exc:
            reason = f"malformed JSON ({exc})"
        except _READ_ERRORS as exc:
            reason = f"unreadable ({exc})"
        raise InputError([Problem(f"{source}#{name}", None, reason)])

    def _day(
        self,
        source: Path,
        tree: _Tree,
        folder: str,
        day: str,
        conversation: _Conversation | None,
        users: dict[str, str],
    ) -> Iterator[Item]:
        position = f"{_safe(folder)}/{day}"
        ref = self.ref(source, position)
        try:
            data = tree.read(f"{folder}/{day}", self._limit)
        except _TooLarge as exc:
            yield Rejected(ref, f"larger than {self._limit} bytes", exc.size)
            return
        except _READ_ERRORS as exc:
            yield Rejected(ref, f"unreadable ({_safe(str(exc))})")
            return
        digest = hashlib.sha256(data).hexdigest()
        try:
            messages = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            yield Rejected(ref, "not UTF-8 text", len(data), digest)
            return
        except (ValueError, RecursionError) as exc:
            yield Rejected(ref, f"malformed JSON ({_safe(str(exc))})", len(data), digest)
            return
        if not isinstance(messages, list):
            yield Rejected(ref, "not a JSON array of messages", len(data), digest)
            return
        for index, message in enumerate(messages, start=1):
            item = self._message(
                source, f"{position}#{index}", folder, conversation, users, message
            )
            if item is not None:
                yield item

    def _message(
        self,
        source: Path,
        position: str,
        folder: str,
        conversation: _Conversation | None,
        users: dict[str, str],
        message: object,
    ) -> Item | None:
        ref = self.ref(source, position)
        if not isinstance(message, dict):
            return Rejected(ref, "not a message (a JSON object)")
        subtype = message.get("subtype")
        subtype = subtype if isinstance(subtype, str) else None
        if subtype in SYSTEM_SUBTYPES:
            return None
        ts = message.get("ts")
        if ts is None:
            return Rejected(ref, "no ts")
        occurred_at = _time(ts)
        if not isinstance(ts, str) or occurred_at is None:
            return Rejected(ref, "unreadable ts")
        defects: list[str] = []
        author = _author(message, subtype)
        if author is None:
            return Rejected(ref, "no author (user or bot_id)")
        author_id, is_bot = author
        if is_bot:
            sender = _safe(f"slack:{author_id.lower()}")
        else:
            sender = _identity(author_id, users)
            if author_id not in users:
                defects.append("UnknownUser")
        members: tuple[str, ...] = ()
        if conversation is None:
            defects.append("UnknownChannel")
            conversation_id = _safe(folder)
        else:
            conversation_id = conversation.id
            if conversation.members is None:
                defects.append("UnknownMembers")
            members = conversation.members or ()
        recipients = tuple(
            dict.fromkeys(
                r for r in (_identity(m, users) for m in members if m != author_id) if r != sender
            )
        )
        files = _files(message, subtype)
        return Record(
            record_id=stable_id("slack", conversation_id, ts),
            message_id=f"{conversation_id}/{ts}",
            occurred_at=occurred_at,
            channel_type="chat",
            platform=self.context.platform or "slack",
            sender=sender,
            recipients=recipients,
            subject=None,
            has_media=any(_is_image(f) for f in files),
            attachment_count=len(files),
            source_kind=self.kind,
            source_ref=ref,
            defects=tuple(defects),
        )


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _folder_root(path: Path) -> Path:
    """The export's root: the folder itself, or its one sub-folder holding users.json."""
    if (path / USERS).is_file():
        return path
    inner = [p for p in path.iterdir() if p.is_dir() and not _hidden(p.name)]
    if len(inner) == 1 and (inner[0] / USERS).is_file():
        return inner[0]
    return path


def _zip_prefix(archive: zipfile.ZipFile) -> str:
    """``""``, or ``"name/"`` when the whole export sits in one folder of the zip."""
    names = archive.namelist()
    if USERS in names:
        return ""
    nested = [
        n
        for n in names
        if n.count("/") == 1 and n.endswith("/" + USERS) and not _hidden(n.split("/")[0])
    ]
    return nested[0][: -len(USERS)] if len(nested) == 1 else ""


def _safe(text: str) -> str:
    """Text safe to store, whether from a file name or JSON (which allows lone surrogates)."""
    try:
        return utf8(text)
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _users(data: object) -> dict[str, str]:
    """User id → normalised e-mail address, or "" for a listed user without one."""
    if not isinstance(data, list):
        return {}
    users: dict[str, str] = {}
    for user in data:
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            continue
        profile = user.get("profile")
        email = profile.get("email") if isinstance(profile, dict) else None
        address = normalize_email(email) if isinstance(email, str) else ""
        if "@" in address or user["id"] not in users:
            users[user["id"]] = _safe(address) if "@" in address else ""
    return users


def _identity(user_id: str, users: dict[str, str]) -> str:
    """A user's e-mail address, or ``slack:<id>`` in lower case."""
    return users.get(user_id) or _safe(f"slack:{user_id.lower()}")


def _index(
    data: object, by_name: dict[str, _Conversation], by_id: dict[str, _Conversation]
) -> None:
    """Add a conversation list's entries; a folder is named by a name, else by an id."""
    if not isinstance(data, list):
        return
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        raw = entry.get("members")
        members = (
            tuple(m for m in raw if isinstance(m, str) and m) if isinstance(raw, list) else None
        )
        conversation = _Conversation(_safe(entry["id"]), members)
        by_id.setdefault(entry["id"], conversation)
        name = entry.get("name")
        if isinstance(name, str) and name:
            by_name.setdefault(name, conversation)


def _time(ts: object) -> dt.datetime | None:
    """``"1469127893.000002"`` (epoch seconds) as a UTC time."""
    match = TS.match(ts) if isinstance(ts, str) else None
    if match is None:
        return None
    seconds, fraction = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return _EPOCH + dt.timedelta(seconds=int(seconds), microseconds=micros)
    except OverflowError:
        return None


def _author(message: dict[str, object], subtype: str | None) -> tuple[str, bool] | None:
    """The author's user id (False) or bot id (True)."""
    user = message.get("user")
    if isinstance(user, str) and user:
        return user, False
    comment = message.get("comment")
    if subtype == "file_comment" and isinstance(comment, dict):
        commenter = comment.get("user")
        if isinstance(commenter, str) and commenter:
            return commenter, False
    bot = message.get("bot_id")
    if isinstance(bot, str) and bot:
        return bot, True
    return None


def _files(message: dict[str, object], subtype: str | None) -> list[dict[str, object]]:
    """The files the message shares (``files``, or the legacy single ``file``)."""
    files = message.get("files")
    if isinstance(files, list) and files:
        return [f for f in files if isinstance(f, dict)]
    legacy = message.get("file")
    if isinstance(legacy, dict) and subtype not in FILE_REFERENCE_SUBTYPES:
        return [legacy]
    return []


def _is_image(file: dict[str, object]) -> bool:
    mimetype = file.get("mimetype")
    return isinstance(mimetype, str) and mimetype.lower().startswith("image/")
