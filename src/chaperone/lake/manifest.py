"""The manifest of ingested sources: re-ingesting an unchanged source is a no-op."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from chaperone.lake.layout import LakeLayout, write_json

CHUNK = 1024 * 1024


def checksum(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file, or of a folder's files (relative names and contents)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    size = 0
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    return size, digest.hexdigest()


def entry_path(layout: LakeLayout, kind: str, sha256: str) -> Path:
    """Where the manifest entry of a source lives."""
    return layout.sources / f"{kind}-{sha256}.json"


def lookup(layout: LakeLayout, kind: str, sha256: str) -> dict[str, Any] | None:
    """The manifest entry of an already ingested source, if any."""
    path = entry_path(layout, kind, sha256)
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def record(layout: LakeLayout, entry: dict[str, Any]) -> None:
    """Add a finished source to the manifest (atomically)."""
    write_json(entry_path(layout, str(entry["kind"]), str(entry["sha256"])), entry)


def entries(layout: LakeLayout) -> list[dict[str, Any]]:
    """Every manifest entry, oldest first."""
    found = [json.loads(p.read_text("utf-8")) for p in layout.sources.glob("*.json")]
    return sorted(found, key=lambda e: str(e.get("finished_at", "")))
