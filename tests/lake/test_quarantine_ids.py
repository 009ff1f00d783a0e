import uuid

from hypothesis import given
from hypothesis import strategies as st

from chaperone.lake.writer import uuid5_hex


@given(st.text())
def test_quarantine_ids_are_the_uuid5_of_source_and_position(name: str) -> None:
    # Ids written by earlier versions must match, or re-quarantining would duplicate items.
    assert uuid5_hex(name) == uuid.uuid5(uuid.NAMESPACE_URL, name).hex
