"""Property: whatever the records look like, every selected record lands in exactly one place and
the change rows of a batch match the batch."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.tables import EVENTS, RECORD_CHANGES
from tests.conftest import route53_record
from tests.lake.test_partition_rebuild import rebuilt
from transforms.route53.reference import flatten_records

json_scalar = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20)
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)

good_change = st.fixed_dictionaries({
    "action": st.sampled_from(["CREATE", "DELETE", "UPSERT", "upsert"]),
    "resourceRecordSet": st.fixed_dictionaries({
        "name": st.text(min_size=1, max_size=30),
        "type": st.sampled_from(["A", "AAAA", "TXT", "CNAME"]),
        "tTL": st.integers(0, 2**31) | st.integers(0, 999).map(str),
        "resourceRecords": st.lists(st.fixed_dictionaries({"value": st.text(max_size=40)}), max_size=5),
    }),
})
any_change = good_change | json_value


@st.composite
def records(draw):
    """A mix of well-formed Route 53 batches, drifted fields, other services and junk."""
    out = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["good", "drift", "other", "junk"]))
        if kind == "junk":
            out.append(draw(json_value))
            continue
        record = route53_record(f"id-{draw(st.integers(0, 5))}", "2026-11-01T10:00:00Z",
                                *draw(st.lists(good_change if kind == "good" else any_change, max_size=6)))
        if kind == "drift":
            record[draw(st.sampled_from(["eventTime", "userAgent", "userIdentity", "readOnly", "eventID", "requestParameters"]))] = draw(json_value)
        if kind == "other":
            record["eventSource"] = "ec2.amazonaws.com"
        out.append(record)
    return out


@pytest.mark.slow  # a few seconds: make check leaves it to make test
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_every_selected_record_is_an_event_or_quarantined_and_batches_are_whole(batch):
    flat = flatten_records(batch, source_file="s3://t/f.json.gz", delivery_date=date(2026, 11, 1))
    assert flat.records_read == len(batch)
    assert flat.selected == flat.events.num_rows + flat.quarantine.num_rows
    placed = flat.events["record_index"].to_pylist() + flat.quarantine["record_index"].to_pylist()
    assert len(placed) == len(set(placed))  # no record in two places
    assert flat.record_changes.num_rows == sum(n or 0 for n in flat.events["change_count"].to_pylist())


@pytest.mark.slow  # a few seconds: make check leaves it to make test
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(), min_size=1, max_size=3))
def test_the_rebuild_keeps_one_copy_of_each_event_with_exactly_its_changes(files):
    """The real rebuild (flows/lake/partitions.py) over files that share event ids: every event id
    once, and the change rows are exactly those of the copies kept."""
    flats = [flatten_records(batch, source_file=f"s3://t/f{n}.json.gz", delivery_date=date(2026, 11, 1)) for n, batch in enumerate(files)]
    with tempfile.TemporaryDirectory() as lake:
        tables = rebuilt(Path(lake), {"f": flats})
    events = pa.concat_tables([EVENTS.empty, *tables["events"].values()])
    changes = pa.concat_tables([RECORD_CHANGES.empty, *tables["record_changes"].values()])
    ids = {i for f in flats for i in f.events["event_id"].to_pylist()}
    assert events.num_rows == len(ids) and set(events["event_id"].to_pylist()) == ids
    kept = set(zip(events["source_file"].to_pylist(), events["record_index"].to_pylist(), strict=True))
    found = list(zip(changes["source_file"].to_pylist(), changes["record_index"].to_pylist(), strict=True))
    assert set(found) <= kept and len(found) == sum(n or 0 for n in events["change_count"].to_pylist())
