"""``chaperone demo``: a generated district, end to end — import, ingest, audit, report, and
an acknowledgment campaign."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from chaperone.acknowledge import campaigns
from chaperone.audit import export as exporter
from chaperone.audit import flow as audit
from chaperone.demo.district import SampleDistrict, generate
from chaperone.demo.traffic import SampleTraffic, generate_traffic
from chaperone.directory import service as directory
from chaperone.directory.importers.contacts import ContactsImporter
from chaperone.directory.importers.oneroster import OneRosterImporter
from chaperone.directory.importers.people import PeopleImporter
from chaperone.ingest.context import IngestContext
from chaperone.ingest.flow import SourceReport, ingest
from chaperone.lake.layout import LakeLayout
from chaperone.lake.query import count_records
from chaperone.registry import service as registry
from chaperone.registry.service import RegistryView
from chaperone.report.html import ReportContext, campaign_progress, render, write
from chaperone.settings import Settings
from chaperone.store.db import Store

Say = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo did and found."""

    people: dict[str, int] = field(default_factory=dict)
    ingested: list[SourceReport] = field(default_factory=list)
    per_rule: dict[str, int] = field(default_factory=dict)
    planted: dict[str, int] = field(default_factory=dict)
    report: Path | None = None
    campaign: dict[str, dict[str, int | float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(result: DemoResult, step: str, say: Say) -> Iterator[None]:
    say(f"{step} …")
    start = time.perf_counter()
    yield
    result.seconds[step] = time.perf_counter() - start


def run(settings: Settings, store: Store, *, seed: int, students: int, staff: int,
        records: int, say: Say) -> DemoResult:
    """Generate, load, ingest, audit and report; every step on the real code paths."""
    result = DemoResult()
    folder = settings.home / "demo-input"
    with _timed(result, "generate a sample district and its traffic", say):
        district = generate(folder / "district", seed=seed, students=students, staff=staff)
        traffic = generate_traffic(district, folder / "traffic", seed=seed, records=records)
    result.planted = dict(traffic.planted)
    with _timed(result, "import the registry and the directory", say):
        view = _load_directory(store, district, traffic)
    with store.transaction() as session:
        result.people = directory.stats(session)
    with _timed(result, "ingest mail, texts and chat into the lake", say):
        result.ingested = _ingest(settings, view, traffic)
    with _timed(result, "audit against Policy 9052", say):
        summary = audit.run(store, LakeLayout(settings.home / "lake"),
                            memory_limit=settings.audit_memory_limit)
        result.per_rule = summary.per_rule
    with _timed(result, "open an acknowledgment campaign (§D)", say):
        result.campaign = _campaign(store)
    with _timed(result, "write the report", say):
        result.report = _report(settings, store, view)
    return result


def _campaign(store: Store) -> dict[str, dict[str, int | float]]:
    """A campaign for everyone Policy 9052 reaches; its progress per population."""
    with store.transaction() as session:
        campaign, _synced = campaigns.create(
            session,
            name="Board Policy 9052 (demo)",
            due_on=dt.date.today() + dt.timedelta(days=30),
            created_by="demo",
        )
        found = campaigns.status(session, campaign)
        return {p: tally.as_dict() for p, tally in found.populations.items()}


def _load_directory(store: Store, district: SampleDistrict,
                    traffic: SampleTraffic) -> RegistryView:
    with store.transaction() as session:
        registry.import_file(session, district.registry)
        view = registry.require_current(session)
    region = view.registry.district.default_region
    with store.transaction() as session:
        for batch in (OneRosterImporter(district.roster, region=region).read(),
                      PeopleImporter(district.people, region=region).read()):
            directory.apply_batch(session, batch, skip_bad_rows=False)
        for contacts in (district.contacts, traffic.student_contacts):
            extra = ContactsImporter(contacts, region=region).read()
            directory.apply_contacts(session, extra, skip_bad_rows=False)
    return view


def _ingest(settings: Settings, view: RegistryView, traffic: SampleTraffic) -> list[SourceReport]:
    district = view.registry.district
    context = IngestContext(region=district.default_region, timezone=district.timezone,
                            max_message_bytes=settings.ingest_max_message_bytes,
                            max_nesting=settings.ingest_max_nesting,
                            max_parts=settings.ingest_max_parts)
    layout = LakeLayout(settings.home / "lake")
    reports: list[SourceReport] = []
    for kind, path in (("m365-trace", traffic.trace), ("mbox", traffic.mailbox),
                       ("sms-csv", traffic.texts), ("slack", traffic.slack)):
        reports += ingest(kind, [path], layout=layout, context=context,
                          batch_size=settings.ingest_batch_size)
    return reports


def _report(settings: Settings, store: Store, view: RegistryView) -> Path:
    out = settings.home / "report.html"
    with store.transaction() as session:
        found = exporter.active_findings(session)
        progress = campaign_progress(session)
    versions = sorted({f.policy_version for f in found})
    html = render(found, ReportContext(
        district=view.registry.district.name,
        policy="9052 (version " + ", ".join(versions) + ")",
        records=count_records(LakeLayout(settings.home / "lake")),
        generated_at=dt.datetime.now(dt.UTC),
        platform_names={p.id: p.name for p in view.registry.platforms},
        campaigns=progress))
    write(out, html)
    return out
