"""Publishing: a day folder's rows are staged, then every partition they touch is rebuilt from
all that is staged for it (under the partition's lock; flows/lake/partitions.py).

The caller (the step, flows/pipeline.py) holds the folder's lock, has listed the folder again,
read what changed since and checked the digests; here the rows are only written:
1. keep the rows of files an earlier run read that the source no longer has (retention, an S3
   lifecycle rule): the lake outlives CloudTrail's retention. `drop_missing_files` drops them;
2. check that the counts reconcile, then replace the folder's staged files and its manifest.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.lake.layout import STAGING, Partition, partition_of, staged_path
from flows.lake.manifests import LakeTarget, manifest_bytes, manifest_document, read_manifest, set_aside
from flows.lake.staging import EventCounts, StagedFiles, commit_staged, count_events
from flows.results import DayListing, DaySummary, FileResult
from flows.storage.spool import rows_of
from flows.storage.store import Store
from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, SOURCE_FILES
from transforms.cloudtrail.integrity import DigestFindings
from transforms.source_files import source_file_rows

log = logging.getLogger("route53_lake")


class ReconciliationError(RuntimeError):
    """Counts that must add up did not: something was lost or duplicated. Never published."""


@dataclass
class Staged:
    summary: DaySummary
    partitions: set[Partition]  # to rebuild: those the folder stages into now, and those it staged into before
    digest_failure: str | None = None  # digest_policy fail: what to fail the run with, once the rows are published
    rejected_files: list[tuple[str, str]] = field(default_factory=list)  # (uri, why) of each file quarantined whole
    reader_peak_mib: int | None = None  # peak RSS of the largest process that read the folder's files


def stage_folder(target: LakeTarget, listing: DayListing, results: list[FileResult], findings: DigestFindings | None,
                 run_id: str | None = None) -> Staged:
    """Stage one day folder's rows, streaming them a file at a time (flows/lake/staging.py), then
    its manifest. The caller holds the folder's lock; `listing` and `results` are the folder as it
    is now, `findings` what its digests said. run_id: the run's id, for source_files."""
    lake, unit = target.store, listing.unit
    previous = read_manifest(lake, target.manifest_path(unit))
    if previous.get("damaged"):
        set_aside(lake, target.manifest_path(unit), target.put_options)
    files = StagedFiles(target.unit_name(unit))
    try:
        uris = {r.uri for r in results}
        missing = [] if target.drop_missing_files else [f for f in previous.get("files", []) if f["uri"] not in uris]
        carried = _carried(lake, previous.get("outputs", []), {f["uri"] for f in missing}, files.work)
        quarantined, kinds = _add_rows(files, listing, results, carried)
        built = files.close()
        counts = count_events(files.local_paths(EVENTS), files.work)
        summary = _summary(listing, results, counts, quarantined, kinds, missing, carried, findings)
        changes_staged = sum(f.rows for path, f in built.items() if path.startswith(f"{STAGING}/{RECORD_CHANGES.name}/"))
        reconcile(summary, counts.changes_of_all, changes_staged, len(results))
        files_path = staged_path(SOURCE_FILES, unit.day.isoformat(), files.unit_name)
        summary.outputs = sorted([*built, files_path])
        manifest = manifest_document(target, listing, results, summary, findings, missing)
        _commit(target, built, files_path, manifest, previous, run_id)
    finally:
        files.discard()
    earlier = set(previous.get("outputs", []))
    for stale in sorted(p for p in earlier - set(summary.outputs) if p.startswith(f"{STAGING}/")):
        lake.delete(stale)  # a visible file of an earlier layout is left to the partition rebuild (flows/lake/legacy.py)
    lake.write_bytes(target.manifest_path(unit), manifest_bytes(manifest), **target.put_options)
    lake.remove_stale_temporaries(posixpath.dirname(target.manifest_path(unit)))  # a killed writer's, long ago (young ones may be live)
    rejected = [(r.uri, r.quarantine["error_message"][0].as_py()) for r in results if r.rejected and r.quarantine.num_rows]
    return Staged(summary, {partition_of(p) for p in set(summary.outputs) | earlier}, None, rejected)


def _add_rows(files: StagedFiles, listing: DayListing, results: list[FileResult],
              carried: dict[str, FileResult]) -> tuple[int, Counter]:
    """Every file's rows, one file's in memory at a time, in the order of their names, whether read
    now or carried; returns the records quarantined, and their error kinds, of the files read now."""
    quarantined, kinds = 0, Counter()
    for uri, result in sorted([(r.uri, r) for r in results] + list(carried.items()), key=lambda item: item[0]):
        files.add(EVENTS, rows_of(result, EVENTS))
        files.add(RECORD_CHANGES, rows_of(result, RECORD_CHANGES))
        quarantine = rows_of(result, QUARANTINE)
        files.add(QUARANTINE, quarantine, listing.unit.day.isoformat())
        if uri not in carried:  # quarantine counts are of what was read now
            quarantined += pc.sum(pc.is_valid(quarantine["record_index"])).as_py() or 0
            kinds.update(quarantine["error_kind"].to_pylist())
    return quarantined, kinds


def _summary(listing: DayListing, results: list[FileResult], counts: EventCounts, quarantined: int, kinds: Counter,
             missing: list[dict], carried: dict[str, FileResult], findings: DigestFindings | None) -> DaySummary:
    unit = listing.unit
    return DaySummary(
        delivery_date=unit.day.isoformat(), account=unit.trail.account, region=unit.region, org_id=unit.trail.org_id,
        files_listed=len(listing.objects), files_rejected=sum(r.rejected is not None for r in results),
        bytes_read=sum(r.size for r in results), records_read=sum(r.records_read or 0 for r in results),
        route53_records=sum(r.route53_records for r in results), events_written=counts.distinct,
        duplicates_dropped=counts.rows - counts.distinct, record_changes_written=counts.changes_of_kept,
        records_quarantined=quarantined, keys_skipped=len(listing.skipped), rejected_kinds=dict(kinds),
        files_missing=len(missing), events_from_missing_files=sum(rows_of(c, EVENTS).num_rows for c in carried.values()),
        files_not_parsed=sum(not r.parsed for r in results),
        digest_problems=0 if findings is None else len(findings.problems),
    )


def _commit(target: LakeTarget, built: dict, files_path: str, manifest: dict, previous: dict, run_id: str | None) -> None:
    """Commit the staged files whose bytes changed, and the folder's source_files rows: the
    manifest's files as rows, with the id of the run that first staged them as they are. They are
    compared without it, so a rerun over the same input stages the same bytes and nothing is
    rebuilt. Notes what was committed in the manifest (staged_sha256, source_files_run_id)."""
    lake = target.store
    hashes = {path: f.sha256 for path, f in built.items()}
    hashes[files_path] = hashlib.sha256(staged_bytes(source_file_rows(manifest, run_id=None))).hexdigest()
    before = previous.get("staged_sha256", {})
    staged_by = previous.get("source_files_run_id") if before.get(files_path) == hashes[files_path] else run_id
    for path, staged in built.items():
        # an identical staged file is left alone, so the partitions it feeds need no rebuild
        if before.get(path) != staged.sha256 or not lake.exists(path):
            commit_staged(lake, staged, path, target.put_options)
    if before.get(files_path) != hashes[files_path] or not lake.exists(files_path):
        lake.write_bytes(files_path, staged_bytes(source_file_rows(manifest, run_id=staged_by)), **target.put_options)
    manifest["staged_sha256"], manifest["source_files_run_id"] = hashes, staged_by


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


def partitions_of_manifest(target: LakeTarget, listing: DayListing) -> set[Partition]:
    """The partitions a day folder staged into, from its manifest (for folders a recheck skips:
    their partitions are still checked, so a rebuild a crash left undone is done)."""
    manifest = read_manifest(target.store, target.manifest_path(listing.unit))
    return {partition_of(p) for p in manifest.get("outputs", [])}
