"""Arbitrary bytes and rows thrown at the mail connectors: nothing escapes, nothing is lost."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaperone.ingest.connectors.eml import EmlConnector
from chaperone.ingest.connectors.maildir import MaildirConnector
from chaperone.ingest.connectors.mbox import MboxConnector
from chaperone.ingest.context import IngestContext
from chaperone.ingest.flow import ingest
from chaperone.lake.schema import Record, Rejected
from chaperone.lake.writer import lake_path
from tests.ingest.messages import message

CONTEXT = IngestContext(max_nesting=5, max_parts=50)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that look like mail more often than uniform noise does.
mailish = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda head, cut: message()[:cut] + head, st.binary(max_size=200),
              st.integers(0, 600)),
    st.lists(st.sampled_from([b"From: a@x.org\r\n", b"To: b@y.org, <c@z>\r\n", b"Date: x\r\n",
                              b'Content-Type: multipart/mixed; boundary="b"\r\n', b"\r\n",
                              b"--b\r\n", b"--b--\r\n", b"Content-Type: message/rfc822\r\n",
                              b"Content-Type: image/png\r\n", b"\xff\xfe\x00", b"From x\n"]),
             max_size=60).map(b"".join),
)


@FUZZ
@given(data=mailish)
def test_eml_never_raises(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "m.eml")
        path.write_bytes(data)
        items = list(EmlConnector(CONTEXT).read(path))
    assert len(items) == 1 and isinstance(items[0], Record | Rejected)


@FUZZ
@given(data=st.lists(mailish, max_size=5))
def test_mbox_never_raises(data: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "m.mbox")
        path.write_bytes(b"".join(b"From x Mon Sep 14 13:02:11 2026\n" + d + b"\n" for d in data))
        items = list(MboxConnector(CONTEXT).read(path))
    assert all(isinstance(i, Record | Rejected) for i in items)
    assert len(items) >= min(1, len(data))


@FUZZ
@given(data=st.binary(max_size=3000))
def test_mbox_of_noise_is_rejected_not_raised(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "m.mbox")
        path.write_bytes(data)
        items = list(MboxConnector(CONTEXT).read(path))
    assert all(isinstance(i, Record | Rejected) for i in items)


@FUZZ
@given(data=st.lists(mailish, min_size=1, max_size=4))
def test_maildir_never_raises(data: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder, "Maildir")
        (root / "cur").mkdir(parents=True)
        for index, item in enumerate(data):
            (root / "cur" / f"{index}.host:2,S").write_bytes(item)
        items = list(MaildirConnector(CONTEXT).read(root))
    assert len(items) == len(data)


TRACE_HEADER = ["Received", "SenderAddress", "RecipientAddress", "Subject", "Status", "Size",
                "MessageId", "MessageTraceId", "FromIP", "ToIP"]
cells = st.one_of(st.text(max_size=30), st.sampled_from(
    ["9/14/2026 1:02:11 PM", "2026-09-15T10:00:00Z", "a@x.org", "<m@x>", "", "\u00c4@\u00df.de"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=12), max_size=20))
def test_m365_trace_rows_never_raise_and_always_reconcile(rows: list[list[str]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(TRACE_HEADER)
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "trace.csv")
        path.write_text(text.getvalue(), encoding="utf-8", errors="surrogatepass")
        (report,) = ingest("m365-trace", [path], layout=lake_path(Path(folder, "home")),
                           context=CONTEXT)
    assert report.status == "ingested"
    assert report.read == report.stored + report.duplicates + report.quarantined
