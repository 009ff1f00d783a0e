"""Every message and export in ../shared/corpora ingests: exit 0, no crash, counts reconcile."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli, corpus

FOLDERS = [
    ("eml", "cpython-test-email"),
    ("eml", "mail-parser"),
    ("eml", "flanker/messages"),
    ("eml", "spamassassin/nice"),
    ("eml", "spamassassin/spam"),
    ("eml", "spamassassin/welcomelists"),
    ("mbox", "spamassassin/nice.mbox"),
    ("slack", "slack-houstondatavis"),
]


@pytest.mark.parametrize(("kind", "folder"), FOLDERS, ids=[f for _k, f in FOLDERS])
def test_corpus_folder_ingests_and_reconciles(cli: Cli, kind: str, folder: str) -> None:
    result = cli.ok("ingest", kind, corpus(folder), "--format", "json")
    report = json.loads(result.out)
    assert report["sources"]
    for source in report["sources"]:
        assert source["status"] in ("ingested", "unchanged"), source  # unchanged: same bytes twice
        counted = ("stored", "merged", "duplicates", "quarantined")
        assert source["read"] == sum(source[key] for key in counted)
    assert report["totals"]["stored"] > 0


def quarantine(cli: Cli) -> dict[str, str]:
    rows = json.loads(cli.ok("ingest", "quarantine", "--format", "json", "--limit", "1000").out)
    return {r["position"].split(":", 1)[1]: r["reason"] for r in rows}


def test_the_nesting_bomb_and_the_outlook_msg_go_to_quarantine(cli: Cli) -> None:
    cli.ok("ingest", "eml", corpus("flanker/messages"), corpus("mail-parser"))
    reasons = quarantine(cli)
    assert reasons["enclosed-endless.eml#1"] == "more than 1000 MIME parts"
    assert reasons["mail_outlook_1#1"] == "an Outlook .msg (OLE compound file), not an RFC 5322 message"


def test_a_second_run_over_the_corpora_changes_nothing(cli: Cli) -> None:
    folder = corpus("spamassassin/nice")
    first = json.loads(cli.ok("ingest", "eml", folder, "--format", "json").out)
    again = json.loads(cli.ok("ingest", "eml", folder, "--format", "json").out)
    assert {s["status"] for s in again["sources"]} == {"unchanged"}
    assert again["totals"]["stored"] == 0 and first["totals"]["stored"] > 0
