"""Publishing: Parquet as declared, a manifest per day folder, atomic replacement, crash recovery."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.lake.manifests import MANIFESTS
from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from flows.storage.store import Store
from schemas.tables import TABLES
from tests.conftest import a_record, gz, log_key, other_record, route53_record, write_trail

ACCT = "123456789012"
DAY = date(2026, 11, 2)


@pytest.fixture
def mixed_trail(tmp_path) -> Path:
    """tmp_path/trail: one delivery day of two good files (an event of the day before, a record
    that is not an object) and a truncated gzip; the lake goes to tmp_path/lake."""
    files = {
        log_key(ACCT, "2026-11-02", "0004"): gz([route53_record("a", "2026-11-01T23:59:00Z", a_record("a.example.com.", "192.0.2.1")),
                                                  other_record(1, "2026-11-02T00:00:00Z")]),
        log_key(ACCT, "2026-11-02", "0900", unique="SecondFile000001"): gz([route53_record("b", "2026-11-02T08:59:00Z", a_record("b.example.com.", "192.0.2.2")),
                                                                            "not a record"]),
        log_key(ACCT, "2026-11-02", "1000", unique="BrokenFile000001"): b"\x1f\x8b\x08\x00broken",
    }
    write_trail(tmp_path / "trail", files)
    return tmp_path


def settings_for(root: Path) -> LakeSettings:
    return LakeSettings(source=str(root / "trail"), lake=str(root / "lake"))


def lake_files(root: Path) -> dict[str, bytes]:
    return _files(root / "lake")


def test_parquet_files_carry_the_declared_schema_zstd_and_no_nanoseconds(mixed_trail):
    run_without_prefect(settings_for(mixed_trail), [DAY])
    files = [p for p in (mixed_trail / "lake").glob("*/*/*.parquet")]  # what readers see (not _staging)
    assert {p.parent.parent.name for p in files} == {"events", "record_changes", "quarantine", "source_files"}
    for path in files:
        table = TABLES[path.parent.parent.name]
        metadata = pq.ParquetFile(path).metadata
        assert pq.read_schema(path).remove_metadata() == table.schema.remove_metadata()
        assert pq.read_schema(path).field(table.columns[0].name).metadata[b"description"]
        assert {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)} == {"ZSTD"}


def test_one_file_per_table_partition_and_staged_files_named_for_the_day_folder(mixed_trail):
    run_without_prefect(settings_for(mixed_trail), [DAY])
    names = sorted(k for k in lake_files(mixed_trail) if k.endswith(".parquet"))
    visible = [n for n in names if not n.startswith("_staging/")]
    assert visible == [
        "events/event_date=2026-11-01/part-0.parquet", "events/event_date=2026-11-02/part-0.parquet",
        "quarantine/delivery_date=2026-11-02/part-0.parquet",
        "record_changes/event_date=2026-11-01/part-0.parquet", "record_changes/event_date=2026-11-02/part-0.parquet",
        "source_files/delivery_date=2026-11-02/part-0.parquet"]
    staged = [n.removeprefix("_staging/") for n in names if n.startswith("_staging/")]
    assert [n.rsplit("/", 1)[0] for n in staged] == [n.rsplit("/", 1)[0] for n in visible]
    assert len({n.rsplit("/", 1)[-1] for n in staged}) == 1
    assert staged[0].rsplit("/", 1)[-1].startswith(f"2026-11-02_{ACCT}_us-east-1_")


def test_manifest_lists_files_counts_and_outputs(mixed_trail):
    run_without_prefect(settings_for(mixed_trail), [DAY])
    (path,) = (mixed_trail / "lake" / MANIFESTS / "delivery_date=2026-11-02").glob("*.json")
    manifest = json.loads(path.read_text())
    assert [f["size"] > 0 and len(f["sha256"]) == 64 for f in manifest["files"]] == [True, True, True]
    assert [f["rejected"] for f in manifest["files"]] == [None, None, "truncated_gzip"]
    counts = manifest["counts"]
    assert (counts["files_listed"], counts["records_read"], counts["route53_records"]) == (3, 4, 3)
    assert (counts["events_written"], counts["records_quarantined"], counts["record_changes_written"]) == (2, 1, 2)
    assert counts["rejected_kinds"] == {"truncated_gzip": 1, "record_not_object": 1}
    assert sorted(manifest["outputs"]) == sorted(k for k in lake_files(mixed_trail) if k.endswith(".parquet") and k.startswith("_staging/"))
    assert [f["in_source"] for f in manifest["files"]] == [True, True, True]
    assert "AKIA" not in path.read_text()


def test_rerun_is_byte_identical(mixed_trail):
    run_without_prefect(settings_for(mixed_trail), [DAY])
    first = lake_files(mixed_trail)
    run_without_prefect(settings_for(mixed_trail), [DAY])
    assert lake_files(mixed_trail) == first


def test_crash_while_publishing_leaves_whole_files_and_a_rerun_converges(mixed_trail, monkeypatch):
    run_without_prefect(settings_for(mixed_trail), [DAY])
    clean = lake_files(mixed_trail)
    # a late file arrives, then the rerun dies after its first write
    late = mixed_trail / "trail" / log_key(ACCT, "2026-11-02", "2300", unique="LateArrival00001")
    late.write_bytes(gz([route53_record("c", "2026-11-02T22:59:00Z", a_record("c.example.com.", "192.0.2.3"))]))
    original, writes = Store.write_bytes, []

    def dying_write(self, relative, data, **options):
        if writes:
            raise KeyboardInterrupt("killed")
        writes.append(relative)
        original(self, relative, data, **options)

    monkeypatch.setattr(Store, "write_bytes", dying_write)
    with pytest.raises(KeyboardInterrupt):
        run_without_prefect(settings_for(mixed_trail), [DAY])
    monkeypatch.setattr(Store, "write_bytes", original)
    after_crash = lake_files(mixed_trail)
    assert not [k for k in after_crash if ".tmp" in k]  # no half-written file anywhere
    assert set(after_crash) == set(clean)  # a replaced file, never a missing one
    for path in after_crash:
        if path.endswith(".parquet"):
            pq.read_table(mixed_trail / "lake" / path)  # every file readable
    run_without_prefect(settings_for(mixed_trail), [DAY])  # the rerun after the crash
    fresh = LakeSettings(source=str(mixed_trail / "trail"), lake=str(mixed_trail / "fresh-lake"))
    run_without_prefect(fresh, [DAY])  # a clean run over the same input, elsewhere
    assert lake_files(mixed_trail) == _files(mixed_trail / "fresh-lake")  # converged: same files, same bytes


def _files(lake: Path) -> dict[str, bytes]:
    from tests.conftest import lake_files as every_file

    return every_file(lake)


def test_file_results_cross_processes_whole_and_empty_tables_travel_light(tmp_path):
    """Worker processes send a FileResult per file; most have no Route 53 rows, and their empty
    tables are left out of the pickle and restored with the full schema."""
    import pickle

    from flows.source.listing import LogObject
    from flows.source.reading import read_and_flatten
    from tests.conftest import a_record, gz, log_key, other_record, route53_record

    with_rows, without = log_key("123456789012", "2026-11-01"), log_key("123456789012", "2026-11-01", "0300", unique="OtherAbCdEfGhIjK")
    mixed_trail = tmp_path / "trail"  # the lake may not sit inside the source
    (mixed_trail / with_rows).parent.mkdir(parents=True)
    (mixed_trail / with_rows).write_bytes(gz([route53_record("e1", "2026-11-01T01:00:00Z", a_record("a.example.com.", "192.0.2.1"))]))
    (mixed_trail / without).write_bytes(gz([other_record(i, "2026-11-01T02:00:00Z") for i in range(5)]))
    settings = LakeSettings(source=str(mixed_trail), lake=str(tmp_path / "lake"))
    full, empty = (read_and_flatten(settings, LogObject(path, 0, None), date(2026, 11, 1)) for path in (with_rows, without))
    assert len(pickle.dumps(empty)) < len(pickle.dumps(full)) // 4
    for result in (full, empty):
        again = pickle.loads(pickle.dumps(result))
        assert again == result and again.events.schema == result.events.schema
    assert (full.events.num_rows, full.record_changes.num_rows, empty.events.num_rows) == (1, 1, 0)
    assert (full.parsed, full.records_read, empty.parsed, empty.records_read) == (True, 1, False, None)  # no Route 53 needle


def test_a_partition_sorted_in_time_ranges_is_the_partition_sorted_whole(tmp_path, monkeypatch):
    """Large partitions are sorted a range of event times at a time (bounded memory): the ranges,
    in order, are exactly the whole sort, ties at a range's edge included, and every change follows."""
    from flows.lake import partitions

    records = [route53_record(f"e{i:03d}", f"2026-11-02T{i % 24:02d}:{(i * 7) % 60:02d}:00Z",
                              a_record(f"r{i}.example.com.", "192.0.2.1"), a_record(f"s{i}.example.com.", "192.0.2.2"))
               for i in range(120)]
    for part in range(4):
        key = tmp_path / "trail" / log_key("123456789012", DAY.isoformat(), f"{10 + part:02d}00")
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(gz(records[part::4] + records[:3]))  # a few duplicates across files too
    run_without_prefect(settings_for(tmp_path), [DAY])
    whole = {t: pq.read_table(next((tmp_path / "lake" / t).glob("*/part-0.parquet"))) for t in ("events", "record_changes")}

    monkeypatch.setattr(partitions, "SORT_RANGE_ROWS", 7)
    ranged = LakeSettings(source=str(tmp_path / "trail"), lake=str(tmp_path / "ranged"))
    run_without_prefect(ranged, [DAY])
    for table, data in whole.items():
        cut = pq.read_table(next((tmp_path / "ranged" / table).glob("*/part-0.parquet")))
        assert cut.num_rows == data.num_rows > 100 and cut.equals(data), table
    assert whole["events"]["event_id"].to_pylist() == sorted(whole["events"]["event_id"].to_pylist(),
                                                              key=lambda e: (records[int(e[1:])]["eventTime"], e))


def test_staged_rows_are_the_same_whether_relabelled_split_or_cast(tmp_path, monkeypatch):
    """StagedFiles.add: a table of one UTC date goes whole (not a filtered copy), one of two dates
    is split, and a table whose types differ from the schema's is cast; the files read back as the
    rows given, each in its date's file."""
    import pyarrow as pa

    from flows.lake import staging
    from schemas.tables import RECORD_CHANGES
    from transforms.route53.reference import flatten_records

    monkeypatch.setattr(staging, "scratch_dir", lambda name: str(tmp_path / name))
    (tmp_path / "stage").mkdir()
    records = [route53_record(f"e{i}", f"2026-11-0{1 + i % 2}T23:59:00Z", a_record(f"r{i}.example.com.", "192.0.2.1")) for i in range(4)]
    changes = flatten_records(records, source_file="f", delivery_date=DAY).record_changes
    one_day = changes.filter(pa.compute.equal(changes["event_id"], "e0"))
    cast = changes.set_column(changes.schema.get_field_index("ttl"), pa.field("ttl", pa.int32()), changes["ttl"].cast(pa.int32()))
    files = staging.StagedFiles("unit")
    for data in (one_day, changes, cast):
        files.add(RECORD_CHANGES, data)
    built = files.close()
    by_day = {path.split("event_date=")[1][:10]: pq.read_table(f.local) for path, f in built.items()}
    assert sorted(by_day) == ["2026-11-01", "2026-11-02"]
    assert by_day["2026-11-01"]["event_id"].to_pylist() == ["e0", "e0", "e2", "e0", "e2"]
    assert by_day["2026-11-02"]["event_id"].to_pylist() == ["e1", "e3", "e1", "e3"]
    assert by_day["2026-11-01"].schema.field("ttl").type == pa.int64()
    assert by_day["2026-11-01"]["ttl"].to_pylist() == [300] * 5  # the cast rows too
    files.discard()


def test_a_partition_that_fails_costs_only_itself_and_is_named(mixed_trail, tmp_path):
    """Partitions are rebuilt in order (delivery_date=..., event_date=2026-11-01, event_date=2026-11-02):
    the one in the middle is refused (its folder links outside the lake); the one after it is
    still published, and the run fails naming the refused one."""
    from flows.results import RunFailed

    outside = tmp_path / "outside"
    outside.mkdir()
    (mixed_trail / "lake" / "events").mkdir(parents=True)
    (mixed_trail / "lake" / "events" / "event_date=2026-11-01").symlink_to(outside)
    with pytest.raises(RunFailed, match=r"partitions of 2026-11-02: .*symbolic link.* \(while rebuilding the partition event_date=2026-11-01\)"):
        run_without_prefect(settings_for(mixed_trail), [DAY])
    assert list(outside.iterdir()) == []
    events = pq.read_table(mixed_trail / "lake" / "events" / "event_date=2026-11-02" / "part-0.parquet")
    assert events["event_id"].to_pylist() == ["b"]
