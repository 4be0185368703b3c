"""Publishing: a day folder's rows are staged (under the folder's lock), then every partition they
touch is rebuilt from all that is staged for it (under the partition's lock; flows/lake/partitions.py).

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
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.lake.manifests import manifest_bytes, manifest_path, read_manifest, unit_name
from flows.lake.partitions import STAGING, Partition, partition_of, refresh, staged_path
from flows.lake.staging import StagedFiles, commit_staged, count_events
from flows.results import DayListing, DaySummary, FileResult
from flows.settings import LakeSettings
from flows.source.digests import DigestMismatchError, check_digests, digest_text
from flows.source.listing import LogObject, list_day_folder
from flows.storage.locks import lake_lock
from flows.storage.spool import rows_of, spool_result
from flows.storage.store import Store, open_store
from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, SOURCE_FILES
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
    rejected_files: list[tuple[str, str]] = field(default_factory=list)  # (uri, why) of each file quarantined whole

    def raise_digest_failure(self) -> None:
        if self.digest_failure:
            raise DigestMismatchError(self.digest_failure)


def stage_folder(settings: LakeSettings, listing: DayListing, results: list[FileResult], read: Reader,
                 run_id: str | None = None) -> Staged:
    """Stage one day folder's rows, streaming them a file at a time (flows/lake/staging.py). run_id: the
    run's id, for source_files (the Prefect flow run's id, or the command line's own)."""
    lake, unit, name = open_store(settings.lake), listing.unit, unit_name(settings, listing.unit)
    with lake_lock(lake, f"folder-{name}", log):
        files = StagedFiles(name)
        try:
            listing, results = _current(settings, listing, results, read, files.work)
            previous = read_manifest(lake, manifest_path(settings, unit))
            uris = {r.uri for r in results}
            missing = [] if settings.drop_missing_files else [f for f in previous.get("files", []) if f["uri"] not in uris]
            carried = _carried(lake, previous.get("outputs", []), {f["uri"] for f in missing}, files.work)
            quarantined, kinds = 0, Counter()
            for uri, result in sorted([(r.uri, r) for r in results] + list(carried.items()), key=lambda item: item[0]):
                # one file's rows in memory at a time, in the order of their names, whether read now or carried
                files.add(EVENTS, rows_of(result, EVENTS))
                files.add(RECORD_CHANGES, rows_of(result, RECORD_CHANGES))
                quarantine = rows_of(result, QUARANTINE)
                files.add(QUARANTINE, quarantine, unit.day.isoformat())
                if uri not in carried:  # quarantine counts are of what was read now
                    quarantined += pc.sum(pc.is_valid(quarantine["record_index"])).as_py() or 0
                    kinds.update(quarantine["error_kind"].to_pylist())
            built = files.close()
            counts = count_events(files.local_paths(EVENTS), files.work)
            summary = DaySummary(
                delivery_date=unit.day.isoformat(), account=unit.trail.account, region=unit.region, org_id=unit.trail.org_id,
                files_listed=len(listing.objects), files_rejected=sum(r.rejected is not None for r in results),
                bytes_read=sum(r.size for r in results), records_read=sum(r.records_read or 0 for r in results),
                route53_records=sum(r.route53_records for r in results), events_written=counts.distinct,
                duplicates_dropped=counts.rows - counts.distinct, record_changes_written=counts.changes_of_kept,
                records_quarantined=quarantined, keys_skipped=len(listing.skipped), rejected_kinds=dict(kinds),
                files_missing=len(missing), events_from_missing_files=sum(rows_of(c, EVENTS).num_rows for c in carried.values()),
                files_not_parsed=sum(not r.parsed for r in results),
            )
            changes_staged = sum(f.rows for path, f in built.items() if path.startswith(f"{STAGING}/{RECORD_CHANGES.name}/"))
            reconcile(summary, counts.changes_of_all, changes_staged, len(results))
            findings = check_digests(settings, listing, results)
            summary.digest_problems = 0 if findings is None else len(findings.problems)

            files_path = staged_path(SOURCE_FILES, unit.day.isoformat(), name)
            summary.outputs = sorted([*built, files_path])
            # completeness as data: the manifest's files as rows, with the id of the run that first staged
            # them as they are. They are compared without it, so a rerun over the same input stages the
            # same bytes and nothing is rebuilt.
            document = json.loads(manifest_bytes(settings, listing, results, summary, findings, missing))
            hashes = {path: f.sha256 for path, f in built.items()}
            hashes[files_path] = hashlib.sha256(staged_bytes(source_file_rows(document, run_id=None))).hexdigest()
            before = previous.get("staged_sha256", {})
            staged_by = previous.get("source_files_run_id") if before.get(files_path) == hashes[files_path] else run_id
            put_options = settings.s3_put_options()
            for path, staged in built.items():
                # an identical staged file is left alone, so the partitions it feeds need no rebuild
                if before.get(path) != staged.sha256 or not lake.exists(path):
                    commit_staged(lake, staged, path, put_options)
            if before.get(files_path) != hashes[files_path] or not lake.exists(files_path):
                lake.write_bytes(files_path, staged_bytes(source_file_rows(document, run_id=staged_by)), **put_options)
        finally:
            files.discard()
        earlier = set(previous.get("outputs", []))
        for stale in sorted(p for p in earlier - set(summary.outputs) if p.startswith(f"{STAGING}/")):
            lake.delete(stale)  # a visible file of an earlier layout is left to the partition rebuild
        manifest = manifest_bytes(settings, listing, results, summary, findings, missing, staged_sha256=hashes,
                                  source_files_run_id=staged_by)
        lake.write_bytes(manifest_path(settings, unit), manifest, **put_options)
    failure = None
    if summary.digest_problems and settings.digest_policy == "fail":
        failure = f"{unit.folder}: CloudTrail digests disagree with the bucket: {digest_text(findings)}"
    rejected = [(r.uri, r.quarantine["error_message"][0].as_py()) for r in results if r.rejected and r.quarantine.num_rows]
    return Staged(summary, {partition_of(p) for p in set(summary.outputs) | earlier}, failure, rejected)


def _current(settings: LakeSettings, listing: DayListing, results: list[FileResult], read: Reader,
             spool: str) -> tuple[DayListing, list[FileResult]]:
    """The folder as it is now, and its files read as they are now: what was read after this run
    listed is kept, anything added or changed since is read (here, under the folder's lock)."""
    objects, skipped = list_day_folder(open_store(settings.source), listing.unit)
    listed_then = {o.path: o for o in listing.objects}
    read_then = {r.path: r for r in results}
    current = []
    for obj in objects:
        result = read_then.get(obj.path)
        if result is None or listed_then.get(obj.path) != obj or result.size != obj.size:
            result = spool_result(read(settings, obj, listing.unit.day, bool(listing.digests)), spool)
        current.append(replace(result, mtime=obj.mtime))
    return replace(listing, objects=objects, skipped=skipped), current


def _carried(lake: Store, outputs: Iterable[str], uris: set[str], spool: str) -> dict[str, FileResult]:
    """The rows an earlier run staged (or, in an earlier layout, published) from the given source
    files, streamed a batch at a time into the spool, one spooled result per file as if read now
    (only its rows: the file's counts are the manifest's)."""
    if not uris:
        return {}
    wanted, writers, spooled = pa.array(sorted(uris)), {}, {}
    try:
        for path in outputs:
            table = next((t for t in (EVENTS, RECORD_CHANGES, QUARANTINE) if path.split("/")[-3] == t.name), None)
            if table is None:
                continue
            try:
                handle = lake.open_for_read(path, spool)
            except FileNotFoundError:
                continue
            with handle:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=8192):
                    rows = pa.Table.from_batches([batch]).filter(pc.is_in(batch["source_file"], value_set=wanted))
                    for uri in pc.unique(rows["source_file"]).to_pylist():
                        key = (uri, table.name)
                        if key not in writers:
                            spooled.setdefault(uri, {})[table.name] = target = os.path.join(spool, f"carried-{len(writers)}.arrow")
                            writers[key] = pa.ipc.new_file(target, table.schema)
                        writers[key].write_table(rows.filter(pc.equal(rows["source_file"], uri)).cast(table.schema))
    finally:
        for writer in writers.values():
            writer.close()
    return {uri: FileResult(uri=uri, path="", size=0, etag=None, sha256="", content_sha256=None, records_read=0,
                            route53_records=0, rejected=None, events=EVENTS.empty, record_changes=RECORD_CHANGES.empty,
                            quarantine=QUARANTINE.empty, spooled=paths)
            for uri, paths in spooled.items()}


def reconcile(summary: DaySummary, changes_of_events: int, changes_staged: int, files_read: int) -> None:
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
    if changes_staged != changes_of_events:
        problems.append(f"events carry {changes_of_events} changes but {changes_staged} rows were made")
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


def publish_day(settings: LakeSettings, listing: DayListing, results: list[FileResult], read: Reader,
                run_id: str | None = None) -> DaySummary:
    """Stage one day folder and rebuild the partitions it touches."""
    staged = stage_folder(settings, listing, results, read, run_id)
    publish_partitions(settings, staged.partitions)
    staged.raise_digest_failure()
    return staged.summary

