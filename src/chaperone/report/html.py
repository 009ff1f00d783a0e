"""``chaperone report``: findings by week, school, channel and platform, and rule; and who has
acknowledged the policy."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from sqlalchemy.orm import Session

from chaperone.acknowledge import campaigns
from chaperone.judge.reading import verdict_of
from chaperone.report.charts import bar_chart, column_chart
from chaperone.store.models import Finding

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:960px;margin:2rem auto;
padding:0 1rem;color:#1a1a1a;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem} .meta{color:#444}
.tiles{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.tile{border:1px solid #ccc;border-radius:6px;padding:.6rem 1rem;min-width:9rem}
.tile b{display:block;font-size:1.6rem}
figure{margin:1.5rem 0;border-top:1px solid #ddd;padding-top:.5rem}
figcaption{font-weight:600;font-size:1.1rem;margin-bottom:.4rem}
svg text{font-size:12px;fill:#1a1a1a} table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.2rem .6rem;text-align:left}
caption{text-align:left;font-weight:600;padding:.3rem 0}
"""


@dataclass(frozen=True)
class CampaignProgress:
    """One acknowledgment campaign's progress, per population: (population, asked,
    acknowledged)."""

    name: str
    due_on: dt.date
    closed: bool
    populations: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class ReportContext:
    """What the report covers."""

    district: str
    policy: str
    records: int
    generated_at: dt.datetime
    platform_names: dict[str, str] = field(default_factory=dict)
    campaigns: tuple[CampaignProgress, ...] = ()


def campaign_progress(session: Session) -> tuple[CampaignProgress, ...]:
    """Every acknowledgment campaign's progress, newest first, for the report."""
    found = []
    for campaign in campaigns.every(session):
        status = campaigns.status(session, campaign)
        found.append(CampaignProgress(
            campaign.name, campaign.due_on, campaign.closed_at is not None,
            tuple((p, t.people, t.acknowledged) for p, t in status.populations.items())))
    return tuple(found)


def _week(day: dt.date) -> str:
    monday = day - dt.timedelta(days=day.weekday())
    return monday.isoformat()


def _counts(values: list[str]) -> list[tuple[str, int]]:
    return sorted(Counter(values).items(), key=lambda item: (-item[1], item[0]))


def render(findings: list[Finding], context: ReportContext) -> str:
    """The whole report as one HTML document (no scripts, no external resources)."""
    days = sorted(f.local_date for f in findings)
    window = f"{days[0]} to {days[-1]}" if days else "no findings"
    weeks = sorted(Counter(_week(d) for d in days).items())
    people = len({f.subject_person_id for f in findings})
    stopped = _stopped(findings)
    tiles = [("Findings", len(findings)), ("Staff members", people),
             ("Records audited", context.records)]
    if stopped:
        tiles.append(("Stopped at the mail gateway", len(stopped)))
    body = [
        f"<h1>{escape(context.district)}: electronic communication compliance</h1>",
        f"<p class='meta'>Board Policy {escape(context.policy)}. Findings dated {escape(window)} "
        f"(district time). Generated {context.generated_at:%Y-%m-%d %H:%M} UTC.</p>",
        "<div class='tiles'>" + "".join(
            f"<div class='tile'><b>{value:,}</b>{escape(label)}</div>" for label, value in tiles
        ) + "</div>",
        "<p>Policy 9052 §A: all communication between district staff, students and parents "
        "must use district e-mail accounts or district-approved platforms. Each finding is one "
        "staff member in one communication that did not.</p>",
        column_chart("Findings by week (week starting)", weeks),
        bar_chart("Findings by school", _counts([f.school or "District office" for f in findings]),
                  colour=1),
        bar_chart("Findings by channel type", _counts([f.channel_type for f in findings]),
                  colour=2),
        bar_chart("Findings by platform", _counts([
            context.platform_names.get(f.platform, f.platform) if f.platform
            else "direct (no platform)" for f in findings]), colour=3),
        bar_chart("Findings by rule", _counts([f"{f.rule_id} ({f.citation})" for f in findings]),
                  colour=4),
        *_gateway_section(stopped),
        *_campaign_section(context.campaigns),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(context.district)}: Policy {escape(context.policy)} report</title>"
        f"<style>{STYLE}</style></head><body><main>" + "".join(body) + "</main></body></html>"
    )


def _stopped(findings: list[Finding]) -> list[tuple[Finding, str]]:
    """Findings on mail the gateway stopped, with the action that stopped it."""
    found = ((f, verdict_of(f).stopped) for f in findings if f.source_ref.startswith("gateway:"))
    return [(f, action) for f, action in found if action]


def _gateway_section(stopped: list[tuple[Finding, str]]) -> list[str]:
    """What the mail gateway stopped before delivery, by week and action (when it stopped any)."""
    if not stopped:
        return []
    weekly = sorted(Counter((_week(f.local_date), action) for f, action in stopped).items())
    return [
        "<h2>Stopped at the mail gateway</h2><p>Mail the district's gateway refused (REJECT) or "
        "held for review (HOLD) before delivery; each finding is also counted above.</p>",
        bar_chart("Findings stopped at the gateway, by week (week starting) and action",
                  [(f"{week} {action}", count) for (week, action), count in weekly], colour=1),
    ]


def _campaign_section(progress: tuple[CampaignProgress, ...]) -> list[str]:
    """Who has acknowledged the policy (§D), per campaign and population (when there are
    campaigns)."""
    if not progress:
        return []
    parts = [
        "<h2>Acknowledgments (Policy 9052 §D)</h2><p>Everyone the policy reaches is asked to "
        "read it and acknowledge it, by a private link or on paper.</p>"
    ]
    for campaign in progress:
        state = "closed" if campaign.closed else f"due {campaign.due_on:%Y-%m-%d}"
        rows = "".join(
            f"<tr><td>{escape(population)}</td><td>{asked:,}</td><td>{done:,}</td>"
            f"<td>{_percent(done, asked)}</td></tr>"
            for population, asked, done in campaign.populations
        )
        asked = sum(a for _p, a, _d in campaign.populations)
        done = sum(d for _p, _a, d in campaign.populations)
        parts.append(
            f"<table><caption>{escape(campaign.name)} ({escape(state)})</caption>"
            "<tr><th scope='col'>population</th><th scope='col'>asked</th>"
            "<th scope='col'>acknowledged</th><th scope='col'>percent</th></tr>"
            f"{rows}<tr><th scope='row'>all</th><td>{asked:,}</td><td>{done:,}</td>"
            f"<td>{_percent(done, asked)}</td></tr></table>"
        )
    return parts


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def write(out: Path, html: str) -> None:
    """Write the report atomically."""
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(out)
