"""CSV and YAML readers: encodings, header names, located rows and values."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from chaperone.common.csvfile import CsvTable
from chaperone.common.problems import InputError
from chaperone.common.yamlfile import load

TEXT = 'id,name,ext_vendor\n1,"Ada\nLovelace",x\n\n2,Bob,y\n'


@pytest.mark.parametrize(
    "encoded",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        TEXT.replace("\n", "\r\n").encode("utf-8"),
    ],
    ids=["utf-8", "utf-8 bom", "utf-16 bom", "crlf"],
)
def test_rows_by_header_with_their_starting_line(tmp_path: Path, encoded: bytes) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(encoded)
    rows = list(CsvTable.read(path).rows())
    assert [(r.line, r.get("id"), r.get("name").replace("\r", "")) for r in rows] == [
        (2, "1", "Ada\nLovelace"),
        (5, "2", "Bob"),
    ]
    assert rows[0].get("not-a-column") == ""


def test_missing_columns_are_all_named(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("sourcedId,name\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        CsvTable.read(path).require(["sourcedId", "givenName", "familyName"])
    assert [str(p) for p in raised.value.problems] == [
        'users.csv:1: missing column "givenName"',
        'users.csv:1: missing column "familyName"',
    ]


def test_text_that_is_not_utf8_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("id,name\n1,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.csv: not UTF-8"):
        CsvTable.read(path)


def test_yaml_values_know_their_lines() -> None:
    doc = load("a: 1\nb:\n  - x: 2\n  - y: 3\n", source="f.yaml")
    assert doc.line_of(("b", 1, "y")) == 4
    assert doc.line_of(("b", 1, "nothing", "here")) == 4
    with pytest.raises(InputError, match=r'f\.yaml:2: duplicate key "a"'):
        load("a: 1\na: 2\n", source="f.yaml")


def test_every_duplicate_key_is_reported_at_once() -> None:
    text = "a: 1\nb:\n  x: 1\n  x: 2\na: 3\nc:\n  - k: 1\n    k: 2\n"
    with pytest.raises(InputError) as raised:
        load(text, source="f.yaml")
    assert [str(p) for p in raised.value.problems] == [
        'f.yaml:4: duplicate key "x"',
        'f.yaml:5: duplicate key "a"',
        'f.yaml:8: duplicate key "k"',
    ]
