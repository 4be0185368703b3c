"""Publishing: a day folder's rows are staged (under the folder's lock), then every partition they
touch is rebuilt from all that is staged for it (under the partition's lock; flows/partitions.py).

Staging a folder, under its lock:
1. list the folder again, and read what changed since this run listed it: a run that listed
   before a late file arrived, or was paused, never publishes an older view than the lake has;
2. keep the rows of files an earlier run read that the source no longer has (retention, an S3
   lifecycle rule): the lake outlives CloudTrail's retention. `drop_missing_files` drops them;
3. check that the counts reconcile, then replace the folder's staged files and its manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.digests import DigestMismatchError, check_digests, digest_text
from flows.listing import LogObject, list_day_folder
from flows.locks import lake_lock
from flows.manifests import manifest_bytes, manifest_path, read_manifest, unit_name
from flows.partitions import Partition, partition_of, refresh, staged_path
from flows.results import DayListing, DaySummary, FileResult
from flows.settings import LakeSettings
from flows.storage import Store, open_store
from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, SOURCE_FILES
from transforms.lake import concat, drop_duplicate_events, split_by_event_date
from transforms.source_files import source_file_rows

log = logging.getLogger("route53_lake")
Reader = Callable[[LakeSettings, LogObject, date, bool], FileResult]


class ReconciliationError(RuntimeError):
    """Counts that must add up did not: something was lost or duplicated. Never published."""


@dataclass
class Staged:
    summary: DaySummary
    partitions: set[Partition]  # to rebuild: those the folder stages into now, and those it staged into before
    digest_failure: str | None = None  # digest_policy fail: what to fail the run with, once the rows are published

    def raise_digest_failure(self) -> None:
        if self.digest_failure:
            raise DigestMismatchError(self.digest_failure)


def stage_folder(settings: LakeSettings, listing: DayListing, results: list[FileResult], read: Reader) -> Staged:
    """Stage one day folder's rows."""
    lake, unit = open_store(settings.lake), listing.unit
    with lake_lock(lake, f"folder-{unit_name(settings, unit)}", log):
        listing, results = _current(settings, listing, results, read)
        previous = read_manifest(lake, manifest_path(settings, unit))
        uris = {r.uri for r in results}
        missing = [] if settings.drop_missing_files else [f for f in previous.get("files", []) if f["uri"] not in uris]
        carried = _rows_of(lake, previous.get("outputs", []), {f["uri"] for f in missing})
        fresh = {t.name: concat(t, (getattr(r, t.name) for r in results)) for t in (EVENTS, RECORD_CHANGES, QUARANTINE)}
        events, changes, duplicates = drop_duplicate_events(
            concat(EVENTS, [fresh["events"], carried["events"]]), concat(RECORD_CHANGES, [fresh["record_changes"], carried["record_changes"]]))
        quarantine = concat(QUARANTINE, [fresh["quarantine"], carried["quarantine"]])
        summary = DaySummary(
            delivery_date=unit.day.isoformat(), account=unit.trail.account, region=unit.region, org_id=unit.trail.org_id,
            files_listed=len(listing.objects), files_rejected=sum(r.rejected is not None for r in results),
            bytes_read=sum(r.size for r in results), records_read=sum(r.records_read or 0 for r in results),
            route53_records=sum(r.route53_records for r in results), events_written=events.num_rows,
            duplicates_dropped=duplicates, record_changes_written=changes.num_rows,
            records_quarantined=pc.sum(pc.is_valid(fresh["quarantine"]["record_index"])).as_py() or 0,
            keys_skipped=len(listing.skipped), rejected_kinds=dict(Counter(fresh["quarantine"]["error_kind"].to_pylist())),
            files_missing=len(missing), events_from_missing_files=carried["events"].num_rows,
            files_not_parsed=sum(not r.parsed for r in results),
        )
        reconcile(summary, events, len(results))
        findings = check_digests(settings, listing, results)
        summary.digest_problems = 0 if findings is None else len(findings.problems)

        name = unit_name(settings, unit)
        outputs = {}
        for table, data in ((EVENTS, events), (RECORD_CHANGES, changes)):
            for event_date, part in split_by_event_date(data, table).items():
                outputs[staged_path(table, event_date.isoformat(), name)] = part
        if quarantine.num_rows:
            outputs[staged_path(QUARANTINE, unit.day.isoformat(), name)] = quarantine.sort_by([(k, "ascending") for k in QUARANTINE.sort_by])
        files_path = staged_path(SOURCE_FILES, unit.day.isoformat(), name)
        summary.outputs = sorted([*outputs, files_path])
        # completeness as data: the manifest's files as rows. run_id stays null: a rerun over the same
        # input must stage the same bytes, so nothing is rebuilt (and tables compare byte for byte).
        document = json.loads(manifest_bytes(settings, listing, results, summary, findings, missing))
        outputs[files_path] = source_file_rows(document, run_id=None)
        staged = {path: staged_bytes(part) for path, part in outputs.items()}
        hashes = {path: hashlib.sha256(data).hexdigest() for path, data in staged.items()}
        put_options = settings.s3_put_options()
        for path, data in staged.items():
            # an identical staged file is left alone, so the partitions it feeds need no rebuild
            if previous.get("staged_sha256", {}).get(path) != hashes[path] or not lake.exists(path):
                lake.write_bytes(path, data, **put_options)
        earlier = set(previous.get("outputs", []))
        for stale in sorted(p for p in earlier - set(outputs) if p.startswith("_staging/")):
            lake.delete(stale)  # a visible file of an earlier layout is left to the partition rebuild
        manifest = manifest_bytes(settings, listing, results, summary, findings, missing, staged_sha256=hashes)
        lake.write_bytes(manifest_path(settings, unit), manifest, **put_options)
    failure = None
    if summary.digest_problems and settings.digest_policy == "fail":
        failure = f"{unit.folder}: CloudTrail digests disagree with the bucket: {digest_text(findings)}"
    return Staged(summary, {partition_of(p) for p in set(outputs) | earlier}, failure)


def _current(settings: LakeSettings, listing: DayListing, results: list[FileResult], read: Reader) -> tuple[DayListing, list[FileResult]]:
    """The folder as it is now, and its files read as they are now: what was read after this run
    listed is kept, anything added or changed since is read (here, under the folder's lock)."""
    objects, skipped = list_day_folder(open_store(settings.source), listing.unit)
    listed_then = {o.path: o for o in listing.objects}
    read_then = {r.path: r for r in results}
    current = []
    for obj in objects:
        result = read_then.get(obj.path)
        if result is None or listed_then.get(obj.path) != obj or result.size != obj.size:
            result = read(settings, obj, listing.unit.day, bool(listing.digests))
        current.append(replace(result, mtime=obj.mtime))
    return replace(listing, objects=objects, skipped=skipped), current


def _rows_of(lake: Store, outputs: Iterable[str], uris: set[str]) -> dict[str, pa.Table]:
    """The rows an earlier run staged (or, in an earlier layout, published) from the given source files."""
    rows = {t.name: [] for t in (EVENTS, RECORD_CHANGES, QUARANTINE)}
    if uris:
        wanted = pa.array(sorted(uris))
        for path in outputs:
            table = next((t for t in (EVENTS, RECORD_CHANGES, QUARANTINE) if path.split("/")[-3] == t.name), None)
            if table is None:
                continue
            try:
                data = pq.read_table(pa.BufferReader(lake.read_bytes(path)))
            except FileNotFoundError:
                continue
            rows[table.name].append(data.filter(pc.is_in(data["source_file"], value_set=wanted)))
    return {t.name: concat(t, rows[t.name]) for t in (EVENTS, RECORD_CHANGES, QUARANTINE)}


def reconcile(summary: DaySummary, events: pa.Table, files_read: int) -> None:
    """Every Route 53 record read (and every event kept from files gone from the source) is an
    event, a dropped duplicate, or a quarantined record; every change of every staged event is a
    record_changes row; every listed file was read."""
    problems = []
    if files_read != summary.files_listed:
        problems.append(f"{summary.files_listed} files listed but {files_read} read")
    accounted = summary.events_written + summary.duplicates_dropped + summary.records_quarantined
    if summary.route53_records + summary.events_from_missing_files != accounted:
        problems.append(
            f"{summary.route53_records} Route 53 records read and {summary.events_from_missing_files} kept, but "
            f"{summary.events_written} events + {summary.duplicates_dropped} duplicates + {summary.records_quarantined} quarantined = {accounted}"
        )
    expected_changes = pc.sum(events["change_count"]).as_py() or 0
    if summary.record_changes_written != expected_changes:
        problems.append(f"events carry {expected_changes} changes but {summary.record_changes_written} rows were made")
    if problems:
        where = f"{summary.account}/{summary.region} {summary.delivery_date}"
        raise ReconciliationError(f"counts do not reconcile for {where}: " + "; ".join(problems))


def staged_bytes(data: pa.Table) -> bytes:
    """A staged file: the rows with their types but without column descriptions (the visible files
    carry those once per partition; on a small staged file they would outweigh the data)."""
    bare = pa.schema([f.remove_metadata() for f in data.schema])
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_arrays(data.columns, schema=bare), sink, compression="zstd", write_statistics=False)  # no copy
    return sink.getvalue().to_pybytes()


def publish_partitions(settings: LakeSettings, partitions: Iterable[Partition]) -> int:
    """Rebuild the partitions whose staged inputs changed, one at a time in a fixed order; returns
    how many were rebuilt."""
    lake, put_options = open_store(settings.lake), settings.s3_put_options()
    return sum(refresh(lake, partition, put_options) for partition in sorted(set(partitions)))


def partitions_of_manifest(settings: LakeSettings, listing: DayListing) -> set[Partition]:
    """The partitions a day folder staged into, from its manifest (for folders a recheck skips:
    their partitions are still checked, so a rebuild a crash left undone is done)."""
    manifest = read_manifest(open_store(settings.lake), manifest_path(settings, listing.unit))
    return {partition_of(p) for p in manifest.get("outputs", [])}


def publish_day(settings: LakeSettings, listing: DayListing, results: list[FileResult], read: Reader) -> DaySummary:
    """Stage one day folder and rebuild the partitions it touches."""
    staged = stage_folder(settings, listing, results, read)
    publish_partitions(settings, staged.partitions)
    staged.raise_digest_failure()
    return staged.summary

