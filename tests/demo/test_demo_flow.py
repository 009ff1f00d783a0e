"""`chaperone demo` end to end on a small district: every planted violation is found."""

from __future__ import annotations

import re
from pathlib import Path

from chaperone.demo import flow
from chaperone.settings import Settings
from chaperone.store.db import Store
from tests.conftest import Cli

DIRECT = {"personal_email_to_student", "personal_email_to_parent", "student_personal_email",
          "personal_phone_to_parent"}
PLATFORM = {"denied_platform", "pending_platform", "expired_platform", "channel_not_approved",
            "audience_not_approved"}


def test_the_demo_finds_exactly_what_was_planted(settings: Settings, store: Store) -> None:
    said: list[str] = []
    result = flow.run(settings, store, seed=11, students=150, staff=24, records=4000,
                      say=said.append)
    assert set(result.planted) == DIRECT | PLATFORM
    assert result.per_rule == {
        "9052-A-direct": sum(result.planted[k] for k in DIRECT),
        "9052-A-platform": sum(result.planted[k] for k in PLATFORM),
    }
    for report in result.ingested:
        assert report.read == report.stored + report.duplicates + report.quarantined
    assert sum(r.quarantined for r in result.ingested) > 0  # planted bad rows
    assert result.report is not None and result.report.is_file()
    assert len(said) == 6
    # the campaign asks every active person, per population, as the directory counts them
    assert {p: t["people"] for p, t in result.campaign.items()} == {
        p: n for p, n in result.people.items() if n
    }


def test_the_report_is_self_contained_with_real_charts(cli: Cli, settings: Settings) -> None:
    cli.ok("demo", "--students", "150", "--staff", "24", "--records", "3000", "--seed", "5")
    html = Path(settings.home / "report.html").read_text("utf-8")
    assert html.count("<svg") == 5 and "<rect" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from the network
    assert "<script" not in html
    assert "Findings by school" in html and "9052" in html
    assert "Acknowledgments (Policy 9052 §D)" in html  # the demo's campaign, nobody yet
    out = settings.home / "again.html"
    assert "wrote" in cli.ok("report", "--out", out).out and out.is_file()
