"""The connectors, by the name users type: ``chaperone ingest KIND PATH...``."""

from __future__ import annotations

from chaperone.common.problems import ChaperoneError
from chaperone.ingest.connectors.base import Connector
from chaperone.ingest.connectors.eml import EmlConnector
from chaperone.ingest.connectors.gmail_log import GmailLogConnector
from chaperone.ingest.connectors.jsonl import JsonlConnector
from chaperone.ingest.connectors.m365_trace import M365TraceConnector
from chaperone.ingest.connectors.maildir import MaildirConnector
from chaperone.ingest.connectors.mbox import MboxConnector
from chaperone.ingest.connectors.slack import SlackConnector
from chaperone.ingest.connectors.sms_csv import SmsCsvConnector
from chaperone.ingest.context import IngestContext

_ALL: tuple[type[Connector], ...] = (
    EmlConnector,
    MboxConnector,
    MaildirConnector,
    M365TraceConnector,
    GmailLogConnector,
    SmsCsvConnector,
    SlackConnector,
    JsonlConnector,
)


def _table(connectors: tuple[type[Connector], ...]) -> dict[str, type[Connector]]:
    table: dict[str, type[Connector]] = {}
    for connector in connectors:
        if connector.kind in table:
            raise RuntimeError(f'two connectors are named "{connector.kind}"')
        table[connector.kind] = connector
    return table


CONNECTORS = _table(_ALL)


def connector_for(kind: str, context: IngestContext) -> Connector:
    """A connector instance for a kind, or a one-line error listing the kinds."""
    connector = CONNECTORS.get(kind)
    if connector is None:
        raise ChaperoneError(f'unknown source kind "{kind}" (one of {", ".join(CONNECTORS)})')
    return connector(context)
