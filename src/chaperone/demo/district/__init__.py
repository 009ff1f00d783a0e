"""Seeded sample school district written as roster, registry, contacts and people files.

`generate` (in `sample`) draws the people in a fixed order from one seeded random source,
so a seed always gives the same bytes: `households` (students and parents), `staff`,
`contacts` (staff contacts and social handles), `outsiders` (people.csv). `roster` and
`registry` write what was drawn; `names`, `context` and `model` hold what they share.
"""

from chaperone.demo.district.contacts import CONTACTS_HEADER
from chaperone.demo.district.model import (
    CONTRACTOR_DOMAINS,
    DISTRICT_ID,
    DISTRICT_LINE_PREFIX,
    DISTRICT_NAME,
    FAMILY_ROLES,
    MAIN_LINE,
    PERSONAL_DOMAINS,
    SCHOOL_YEAR_START,
    STAFF_DOMAIN,
    STAFF_ROLES,
    STUDENT_DOMAIN,
    VENDOR_DOMAINS,
)
from chaperone.demo.district.names import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES
from chaperone.demo.district.outsiders import PEOPLE_HEADER
from chaperone.demo.district.roster import (
    DEMOGRAPHICS_HEADER,
    MANIFEST_FILES,
    MODIFIED,
    ORGS_HEADER,
    ROLE_BEGIN,
    ROLE_END,
    ROLES_HEADER,
    USERS_HEADER,
)
from chaperone.demo.district.sample import SampleDistrict, generate

__all__ = [
    "CONTACTS_HEADER",
    "CONTRACTOR_DOMAINS",
    "DEMOGRAPHICS_HEADER",
    "DISTRICT_ID",
    "DISTRICT_LINE_PREFIX",
    "DISTRICT_NAME",
    "FAMILY_NAMES",
    "FAMILY_ROLES",
    "FEMALE_NAMES",
    "MAIN_LINE",
    "MALE_NAMES",
    "MANIFEST_FILES",
    "MODIFIED",
    "ORGS_HEADER",
    "PEOPLE_HEADER",
    "PERSONAL_DOMAINS",
    "ROLES_HEADER",
    "ROLE_BEGIN",
    "ROLE_END",
    "SCHOOL_YEAR_START",
    "STAFF_DOMAIN",
    "STAFF_ROLES",
    "STUDENT_DOMAIN",
    "USERS_HEADER",
    "VENDOR_DOMAINS",
    "SampleDistrict",
    "generate",
]
