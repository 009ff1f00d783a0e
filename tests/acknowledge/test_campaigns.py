"""Campaigns reach everyone they should, keep up with the directory, and record every
acknowledgment, by link or on paper, once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from chaperone.acknowledge import campaigns, tokens
from chaperone.audit_log import service as trail
from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.settings import Settings
from chaperone.store.db import Store, open_store
from chaperone.store.models import Campaign, Notice, Person
from tests.audit.world import PEOPLE, load_world
from tests.conftest import Cli

pytestmark = pytest.mark.store


@pytest.fixture
def world(cli: Cli, settings: Settings, tmp_path: Path) -> Iterator[Store]:
    load_world(cli, tmp_path / "world")
    store = open_store(settings)
    yield store
    store.close()


def status(cli: Cli, number: int = 1) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        cli.ok("campaigns", "status", str(number), "--format", "json").out
    )
    return data


def link(store: Store, person_id: str, campaign_id: int = 1) -> str:
    with store.transaction() as session:
        notice = session.scalars(
            select(Notice).where(Notice.person_id == person_id, Notice.campaign_id == campaign_id)
        ).one()
        return tokens.derive(tokens.secret(session), campaign_id, person_id, notice.nonce)


def test_a_campaign_reaches_every_population_at_their_district_address(
    cli: Cli, world: Store
) -> None:
    created = cli.ok("campaigns", "create", "Policy 9052, 2026-27", "--due", "2026-12-31",
                     "--by", "compliance")
    assert created.out.startswith("campaign 1 created (policy 9052 version ")
    found = status(cli)
    assert {k: v["people"] for k, v in found["populations"].items()} == {  # type: ignore[attr-defined]
        "staff": 2, "student": 2, "parent": 1, "vendor": 1,
    }
    assert found["total"] == {"people": 6, "acknowledged": 0, "outstanding": 6, "percent": 0.0,
                              "sent": 0, "no_address": 0}
    with world.transaction() as session:
        addresses = {n.person_id: n.address for n in session.scalars(select(Notice))}
    # T1 and S1 also have personal gmail addresses in the directory: the district's is used
    assert addresses["T1"] == "t1@district.k12.us"
    assert addresses["S1"] == "s1@students.district.k12.us"
    assert addresses["P1"] == "p1@gmail.com"


def test_a_campaign_can_be_limited_to_populations_and_schools(cli: Cli, world: Store) -> None:
    cli.ok("campaigns", "create", "Students", "--due", "2026-12-31", "--by", "co",
           "--population", "student", "--school", "HS")
    assert status(cli)["total"]["people"] == 2  # type: ignore[index]
    with world.transaction() as session:
        campaign = campaigns.get(session, 1)
        assert campaigns.status(session, campaign, schools=[]).total.people == 0


def test_bad_campaigns_report_every_problem_and_create_nothing(cli: Cli, world: Store) -> None:
    failed = cli("campaigns", "create", "x", "--due", "2026-01-01", "--opens", "2026-02-01",
                 "--by", "co", "--population", "teachers", "--school", "ZZ")
    assert failed.code == 1
    assert failed.err.strip() == (
        'error: unknown population "teachers"; unknown school "ZZ"; due date 2026-01-01 is '
        "before the campaign opens (2026-02-01)"
    )
    with world.transaction() as session:
        assert session.scalars(select(Campaign)).all() == []


def test_a_link_acknowledges_once_and_only_its_own_notice(cli: Cli, world: Store) -> None:
    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    token = link(world, "S1")
    with world.transaction() as session:
        landing = campaigns.acknowledge_link(session, token, client="203.0.113.9")
        assert (landing.notice.person_id, landing.given_name) == ("S1", "Ana")
        first = landing.notice.acknowledged_at
        assert first is not None
    with world.transaction() as session:  # again: nothing changes
        again = campaigns.acknowledge_link(session, token).notice.acknowledged_at
        assert again is not None and again.replace(tzinfo=None) == first.replace(tzinfo=None)
    with world.transaction() as session, pytest.raises(NotFoundError):
        campaigns.landing(session, token[:-1] + ("A" if token[-1] != "A" else "B"))
    found = status(cli)
    assert found["populations"]["student"]["acknowledged"] == 1  # type: ignore[index]
    with world.transaction() as session:
        logged = trail.entries(session, person_id="S1", actions=["acknowledge"])
        assert [(e.actor, e.detail) for e in logged] == [("person:S1", "by link from 203.0.113.9")]
        assert token not in " ".join(e.detail for e in trail.entries(session))


def test_a_closed_campaign_takes_no_more_acknowledgments(cli: Cli, world: Store) -> None:
    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    token = link(world, "T2")
    cli.ok("campaigns", "close", "1", "--by", "co")
    with world.transaction() as session, pytest.raises(ChaperoneError, match="closed"):
        campaigns.acknowledge_link(session, token)
    assert cli("campaigns", "record", "1", "T2", "--by", "office").code == 1
    assert status(cli)["total"]["acknowledged"] == 0  # type: ignore[index]


def test_the_audience_follows_the_directory(cli: Cli, world: Store, tmp_path: Path) -> None:
    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    people = tmp_path / "more.csv"
    people.write_text(PEOPLE + "T3,staff,New,Hire,HS,t3@district.k12.us,\n")
    cli.ok("directory", "import", "people", people)
    with world.transaction() as session:  # the roster deactivates the vendor
        session.execute(update(Person).where(Person.person_id == "V1").values(active=False))
    assert cli.ok("campaigns", "sync", "1").out.strip() == "1 added, 1 withdrawn, 0 back"
    found = status(cli)
    assert (found["total"]["people"], found["withdrawn"]) == (6, 1)  # type: ignore[index]
    assert "vendor" not in found["populations"]  # type: ignore[operator]
    with world.transaction() as session:
        session.execute(update(Person).where(Person.person_id == "V1").values(active=True))
    assert cli.ok("campaigns", "sync", "1").out.strip() == "0 added, 0 withdrawn, 1 back"


def test_paper_acknowledgments_report_every_bad_row_and_record_nothing_then(
    cli: Cli, world: Store, tmp_path: Path
) -> None:
    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    sheet = tmp_path / "signed.csv"
    sheet.write_text("person_id,signed_on\nS1,2026-11-20\n,2026-11-20\nS2,20/11/2026\n")
    failed = cli("campaigns", "record", "1", "--file", sheet, "--by", "office")
    assert failed.code == 1
    assert "signed.csv:3: no person_id" in failed.err
    assert 'signed.csv:4: signed_on "20/11/2026" is not a date' in failed.err
    sheet.write_text("person_id,signed_on\nS1,2026-11-20\nNOBODY,\n")
    failed = cli("campaigns", "record", "1", "--file", sheet, "--by", "office")
    assert '"NOBODY" is not asked to acknowledge in campaign 1' in failed.err
    assert status(cli)["total"]["acknowledged"] == 0  # type: ignore[index]

    sheet.write_text("person_id,signed_on\nS1,2026-11-20\nP1,\n")
    assert cli.ok("campaigns", "record", "1", "--file", sheet, "--by", "office").out.strip() \
        == "2 recorded, 0 had already acknowledged"
    assert cli.ok("campaigns", "record", "1", "S1", "--by", "office").out.strip() \
        == "0 recorded, 1 had already acknowledged"
    with world.transaction() as session:
        s1 = session.scalars(select(Notice).where(Notice.person_id == "S1")).one()
        assert (s1.acknowledged_via, s1.recorded_by) == ("paper", "office")
        assert s1.acknowledged_at is not None
        assert s1.acknowledged_at.date() == dt.date(2026, 11, 20)


def test_the_outstanding_list_shows_no_links_and_is_logged(cli: Cli, world: Store) -> None:
    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    cli.ok("campaigns", "record", "1", "T1", "--by", "office")
    listed = cli.ok("campaigns", "outstanding", "1", "--by", "principal", "--format", "csv").out
    rows = listed.strip().splitlines()
    assert rows[0].startswith("person_id,given_name,family_name,population,school,address")
    assert [r.split(",")[0] for r in rows[1:]] == ["P1", "S1", "S2", "T2", "V1"]
    for person in ("S1", "T2"):
        assert link(world, person) not in listed
    with world.transaction() as session:
        (entry,) = trail.entries(session, person_id="S1", actions=["view"])
        assert (entry.actor, entry.object_type) == ("principal", "campaign")


def test_the_outstanding_csv_cannot_run_formulas_in_a_spreadsheet(
    cli: Cli, world: Store, tmp_path: Path
) -> None:
    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    with world.transaction() as session:
        session.execute(update(Person).where(Person.person_id == "P1")
                        .values(given_name='=HYPERLINK("http://evil.example","x")'))
        session.execute(update(Notice).where(Notice.person_id == "S2")
                        .values(last_error="-550 refused"))
    out = tmp_path / "missing.csv"
    cli.ok("campaigns", "outstanding", "1", "--by", "co", "--format", "csv", "--out", out)
    text = out.read_text()
    assert "'=HYPERLINK(" in text and ",=HYPERLINK(" not in text
    assert ",'-550 refused" in text


def test_the_outstanding_list_is_filtered_paged_and_counted_by_the_store(
    cli: Cli, world: Store
) -> None:
    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    cli.ok("campaigns", "record", "1", "T1", "--by", "office")
    with world.transaction() as session:
        campaign = campaigns.get(session, 1)
        page, total = campaigns.outstanding_page(session, campaign, offset=1, limit=2)
        assert ([n.person_id for n in page], total) == (["S1", "S2"], 5)
        staff, total = campaigns.outstanding_page(session, campaign, population="staff")
        assert ([n.person_id for n in staff], total) == (["T2"], 1)
        assert campaigns.outstanding_page(session, campaign, school=campaigns.NO_SCHOOL)[1] == 0
        assert campaigns.outstanding_page(session, campaign, schools=[])[1] == 0
        assert campaigns.outstanding_groups(session, campaign) == (
            ["staff", "student", "parent", "vendor"], ["HS"]
        )


def test_scripts_get_json_from_every_command_that_changes_something(
    cli: Cli, world: Store
) -> None:
    created = json.loads(cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31",
                                "--by", "co", "--format", "json").out)
    assert (created["id"], created["people"], created["no_address"]) == (1, 6, 0)
    assert json.loads(cli.ok("campaigns", "sync", "1", "--format", "json").out) == {
        "added": 0, "withdrawn": 0, "restored": 0,
    }
    assert json.loads(
        cli.ok("campaigns", "record", "1", "S1", "--by", "office", "--format", "json").out
    ) == {"recorded": 1, "already": 0}


def test_a_campaign_name_with_control_characters_is_refused(world: Store) -> None:
    with world.transaction() as session, pytest.raises(ChaperoneError, match="printable"):
        campaigns.create(session, name="Policy\x009052", due_on=dt.date(2026, 12, 31),
                         created_by="co")


def test_paper_acknowledgments_for_one_schools_staff_record_nobody_elsewhere(
    cli: Cli, world: Store
) -> None:
    from chaperone.review.access import Forbidden

    cli.ok("campaigns", "create", "Policy 9052", "--due", "2026-12-31", "--by", "co")
    with world.transaction() as session:
        here = session.scalars(select(Notice).where(Notice.school.is_not(None))).first()
        assert here is not None and here.school
        nowhere = session.scalars(select(Notice).where(Notice.school.is_(None))).first()
        campaign = session.get(Campaign, here.campaign_id)
        assert campaign is not None
        school, mine = here.school, here.person_id
        others = [(mine, None)] + ([(nowhere.person_id, None)] if nowhere else [])
        with pytest.raises(Forbidden, match="of these people are not at your schools"):
            campaigns.record_paper(
                session, campaign, others, recorded_by="p", schools=["another school"]
            )
        if nowhere:  # a notice of no school is nobody's school
            with pytest.raises(Forbidden, match="1 of these people"):
                campaigns.record_paper(session, campaign, others, recorded_by="p", schools=[school])
        assert here.acknowledged_at is None
        assert campaigns.record_paper(
            session, campaign, [(mine, None)], recorded_by="p", schools=[school]
        ) == (1, 0)
