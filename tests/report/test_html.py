"""The report escapes everything it renders and groups findings the way a board reads them."""

from __future__ import annotations

import datetime as dt

from chaperone.report.html import ReportContext, render
from chaperone.store.models import Finding

HOSTILE = '<script>alert("x")</script>\u202eevil'


def finding(day: int, school: str | None, platform: str | None) -> Finding:
    return Finding(
        finding_id=f"f{day}", rule_id="9052-A-direct", citation="9052 §A", policy_version="2017.1",
        severity="high", occurred_at=dt.datetime(2026, 9, day, 13, tzinfo=dt.UTC),
        local_date=dt.date(2026, 9, day), channel_type="email", platform=platform,
        message_id="m", record_id="r", source_ref="x", sender="a@x", recipients="b@y",
        subject_person_id="T1", counterpart_person_ids="S1", school=school, explanation=HOSTILE,
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
