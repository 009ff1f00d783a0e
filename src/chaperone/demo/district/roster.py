"""The OneRoster 1.2 CSV bundle: manifest, orgs, users, roles and demographics."""

from __future__ import annotations

from pathlib import Path

from chaperone.demo.district.model import DISTRICT_ID, DISTRICT_NAME, School, User
from chaperone.demo.files import write_csv

MODIFIED = "2025-08-15T12:00:00.000Z"
ROLE_BEGIN = "2025-07-01"
ROLE_END = "2026-06-30"

MANIFEST_FILES = (
    "academicSessions", "categories", "classes", "classResources", "courses",
    "courseResources", "demographics", "enrollments", "lineItemLearningObjectiveIds",
    "lineItems", "lineItemScoreScales", "orgs", "resources", "resultLearningObjectiveIds",
    "results", "resultScoreScales", "roles", "scoreScales", "userProfiles", "userResources",
    "users",
)  # fmt: skip
ORGS_HEADER = (
    "sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId",
)  # fmt: skip
USERS_HEADER = (
    "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
    "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
    "agentSourcedIds", "grades", "password", "userMasterIdentifier", "preferredGivenName",
    "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns",
)  # fmt: skip
ROLES_HEADER = (
    "sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role",
    "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId",
)  # fmt: skip
DEMOGRAPHICS_HEADER = (
    "sourcedId", "status", "dateLastModified", "birthDate", "sex",
    "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation",
    "cityOfBirth", "publicSchoolResidenceStatus",
)  # fmt: skip


def write_roster(folder: Path, schools: list[School], users: list[User]) -> None:
    """Write the OneRoster 1.2 CSV bundle."""
    present = ("orgs", "users", "roles", "demographics")
    manifest = [["manifest.version", "1.0"], ["oneroster.version", "1.2"]]
    for name in MANIFEST_FILES:
        manifest.append([f"file.{name}", "bulk" if name in present else "absent"])
    manifest += [["source.systemName", "Chaperone demo"], ["source.systemCode", "chaperone-demo"]]
    write_csv(folder / "manifest.csv", ("propertyName", "value"), manifest)
    write_csv(folder / "orgs.csv", ORGS_HEADER, _org_rows(schools))
    write_csv(folder / "users.csv", USERS_HEADER, [_user_row(u) for u in users])
    write_csv(folder / "roles.csv", ROLES_HEADER, [r for u in users for r in _role_rows(u)])
    students = [u for u in users if u.role == "student"]
    write_csv(folder / "demographics.csv", DEMOGRAPHICS_HEADER, map(_demographics_row, students))


def _org_rows(schools: list[School]) -> list[list[str]]:
    """Return orgs.csv rows: the district, then its schools."""
    rows = [[DISTRICT_ID, "active", MODIFIED, DISTRICT_NAME, "district", DISTRICT_ID, ""]]
    for school in schools:
        rows.append(
            [school.org_id, "active", MODIFIED, school.name, "school", school.org_id, DISTRICT_ID]
        )
    return rows


def _user_row(user: User) -> list[str]:
    """Return the users.csv row of a user."""
    enabled = "true" if user.status == "active" else "false"
    return [
        user.sourced_id, user.status, MODIFIED, enabled, user.username, "", user.given,
        user.family, user.middle, user.identifier, user.email, "", user.phone,
        ",".join(user.agents), user.grade, user.password, "", "", "", "", user.orgs[0], "",
    ]  # fmt: skip


def _role_rows(user: User) -> list[list[str]]:
    """Return the roles.csv rows of a user, one per org."""
    return [
        [
            f"{user.sourced_id}-{org}", user.status, MODIFIED, user.sourced_id,
            "primary" if index == 0 else "secondary", user.role, ROLE_BEGIN, ROLE_END, org, "",
        ]
        for index, org in enumerate(user.orgs)
    ]  # fmt: skip


def _demographics_row(user: User) -> list[str]:
    """Return the demographics.csv row of a student."""
    return [user.sourced_id, user.status, MODIFIED, user.birth_date, user.sex] + [""] * 11
