"""Seeded sample communication traffic for the sample district (`chaperone.demo.district`).

`generate_traffic` reads a generated district and writes what its silos would export over
a few months: an Exchange message trace (`m365-trace`), an mbox of staff mailboxes, a log
of texts, calls and voicemails (`sms-csv`) and a Slack export. Most records are compliant
with Board Policy 9052 §A or out of its scope; a few percent are planted violations of
every kind in the §A decision table, counted in `SampleTraffic.planted`. A handful of
messages are in both the trace and the mbox, and a few rows are broken, so de-duplication
and quarantine have something to do.

`sample` runs the steps: `registry` and `people` read the district, `mail`, `texts` and
`slack` draw each source's records at moments from `clock`, and `writers` writes them.
"""

from chaperone.demo.traffic.people import STUDENT_EMAIL_SHARE
from chaperone.demo.traffic.registry import CHAT, DENIED, EXPIRING, PENDING, TEXTING
from chaperone.demo.traffic.sample import (
    MIN_RECORDS,
    PLANTED_KINDS,
    PLANTED_RATES,
    SOURCE_SHARES,
    SampleTraffic,
    generate_traffic,
)
from chaperone.demo.traffic.slack import CLUB_CHANNEL
from chaperone.demo.traffic.writers import SMS_HEADER, TRACE_HEADER

__all__ = [
    "CHAT",
    "CLUB_CHANNEL",
    "DENIED",
    "EXPIRING",
    "MIN_RECORDS",
    "PENDING",
    "PLANTED_KINDS",
    "PLANTED_RATES",
    "SMS_HEADER",
    "SOURCE_SHARES",
    "STUDENT_EMAIL_SHARE",
    "TEXTING",
    "TRACE_HEADER",
    "SampleTraffic",
    "generate_traffic",
]
