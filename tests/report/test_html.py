"""The report escapes everything it renders and groups findings the way a board reads them."""

from __future__ import annotations

import datetime as dt

from chaperone.judge.verdicts import Verdict
from chaperone.report.html import CampaignProgress, ReportContext, render
from chaperone.store.models import Finding

HOSTILE = '<script>alert("x")</script>\u202eevil'


def verdict(stopped: str | None = None) -> str:
    return Verdict(rule_id="9052-A-direct", policy_version="2017.1", branch="direct",
                   channel_type="email", platform=None, subject="T1", subject_population="staff",
                   subject_is_sender=True, subject_account="personal",
                   counterparts=(("S1", "student"),), student_accounts="district",
                   account_kind="email", stopped=stopped).to_json()


def finding(day: int, school: str | None, platform: str | None) -> Finding:
    return Finding(
        finding_id=f"f{day}", rule_id="9052-A-direct", citation="9052 §A", policy_version="2017.1",
        severity="high", occurred_at=dt.datetime(2026, 9, day, 13, tzinfo=dt.UTC),
        local_date=dt.date(2026, 9, day), channel_type="email", platform=platform,
        message_id="m", record_id="r", source_ref="x", sender="a@x", recipients="b@y",
        subject_person_id="T1", counterpart_person_ids="S1", school=school, verdict=verdict(),
        active=True,
    )


def test_hostile_names_are_escaped() -> None:
    found = [finding(14, HOSTILE, None), finding(15, "Hillcrest", HOSTILE), finding(22, None, None)]
    html = render(found, ReportContext(HOSTILE, "9052", 10, dt.datetime(2026, 11, 29)))
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "Findings dated 2026-09-14 to 2026-09-22" in html
    assert "2026-09-14" in html and "2026-09-21" in html  # weeks start on Monday
    assert "District office" in html and "direct (no platform)" in html


def stopped(day: int, action: str) -> Finding:
    found = finding(day, "Hillcrest", None)
    found.finding_id, found.source_ref = f"g{day}{action}", f"gateway:{day}.{action}"
    found.verdict = verdict(stopped=action)
    return found


def test_what_the_gateway_stopped_is_shown_by_week_and_action() -> None:
    found = [finding(14, None, None), stopped(14, "REJECT"), stopped(15, "REJECT"),
             stopped(16, "HOLD"), stopped(22, "REJECT")]
    html = render(found, ReportContext("D", "9052", 10, dt.datetime(2026, 11, 29)))
    assert "<b>4</b>Stopped at the mail gateway" in html
    data = html[html.index("Findings stopped at the gateway"):]
    assert "<th scope='row'>2026-09-14 HOLD</th><td>1</td>" in data
    assert "<th scope='row'>2026-09-14 REJECT</th><td>2</td>" in data
    assert "<th scope='row'>2026-09-21 REJECT</th><td>1</td>" in data


def test_without_gateway_findings_there_is_no_gateway_section() -> None:
    html = render([finding(14, None, None)], ReportContext("D", "9052", 1, dt.datetime(2026, 11, 29)))
    assert "gateway" not in html


def test_acknowledgments_are_shown_per_campaign_and_population() -> None:
    progress = (
        CampaignProgress(HOSTILE, dt.date(2026, 10, 15), False,
                         (("staff", 150, 120), ("student", 2000, 500), ("vendor", 0, 0))),
        CampaignProgress("Last year", dt.date(2025, 10, 15), True, (("staff", 140, 140),)),
    )
    html = render([finding(14, None, None)],
                  ReportContext("D", "9052", 1, dt.datetime(2026, 11, 29), campaigns=progress))
    section = html[html.index("Acknowledgments (Policy 9052 §D)"):]
    assert "<script" not in section and "&lt;script&gt;" in section
    assert "(due 2026-10-15)</caption>" in section and "Last year (closed)" in section
    assert "<td>staff</td><td>150</td><td>120</td><td>80.0%</td>" in section
    assert "<td>vendor</td><td>0</td><td>0</td><td>—</td>" in section
    assert "<th scope='row'>all</th><td>2,150</td><td>620</td><td>28.8%</td>" in section


def test_without_campaigns_there_is_no_acknowledgment_section() -> None:
    html = render([finding(14, None, None)], ReportContext("D", "9052", 1, dt.datetime(2026, 11, 29)))
    assert "Acknowledgments" not in html
