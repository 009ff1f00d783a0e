"""The docs are part of the product: every command and setting is documented."""

from __future__ import annotations

from pathlib import Path

import typer

from chaperone.cli import app
from chaperone.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
README = Path(__file__).resolve().parents[1] / "README.md"


def command_paths(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    commands = getattr(group, "commands", {})
    paths = []
    for name, command in commands.items():
        paths.append((*prefix, name))
        paths += command_paths(command, (*prefix, name))
    return paths


def all_docs() -> str:
    return "\n".join(p.read_text("utf-8") for p in DOCS.rglob("*.md"))


def test_every_command_has_documentation() -> None:
    docs = all_docs()
    paths = command_paths(typer.main.get_command(app))
    assert len(paths) > 10
    missing = [" ".join(p) for p in paths if " ".join(p) not in docs]
    assert missing == []


def test_every_setting_is_documented() -> None:
    settings = (DOCS / "settings.md").read_text("utf-8")
    missing = [name for name in Settings.model_fields if f"`{name}`" not in settings]
    assert missing == []


def test_readme_shows_the_two_commands_first() -> None:
    readme = README.read_text("utf-8")
    assert readme.index("make demo") < readme.index("## Quick start")
    assert readme.index("make test") < readme.index("## Quick start")


def test_every_source_kind_has_its_page() -> None:
    from chaperone.ingest.connectors import CONNECTORS

    missing = [kind for kind in CONNECTORS if not (DOCS / "sources" / f"{kind}.md").is_file()]
    assert missing == []
