"""The pipeline's steps as plain functions: list, read and flatten, publish.

The Prefect flow wraps each in a task (retries, concurrency, logs); `--no-prefect` calls them
directly. Both run the very same code, so they cannot drift apart.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import math
import os
import posixpath
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from multiprocessing import get_context

import pyarrow as pa
import pyarrow.parquet as pq

from flows.listing import DayFolder, LogObject, Skipped, Trail, delivery_time, digest_folders, find_trails, list_day_folder
from flows.settings import LakeSettings, SettingsError
from flows.storage import Store, open_store
from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, Table
from transforms.cloudtrail import decompress, parse_json
from transforms.errors import Rejected
from transforms.integrity import DigestFindings, check, parse_digest, parse_public_keys, signature_problem
from transforms.lake import concat, drop_duplicate_events, split_by_event_date
from transforms.route53 import quarantine_row
from transforms.route53_fast import flatten_file
from transforms.times import TimeWindow

MANIFESTS = "_manifests"
FILE_CONCURRENCY = 8  # batches of log files the flow reads at once (its task runner threads)


class ReconciliationError(RuntimeError):
    """Counts that must add up did not: something was lost or duplicated. Never published."""


class DigestMismatchError(RuntimeError):
    """CloudTrail's digests disagree with the bucket (digest_policy = fail). The day is published
    and its manifest lists the findings."""


@dataclass
class DayListing:
    unit: DayFolder
    objects: list[LogObject]
    skipped: list[Skipped]
    digests: list[str] = field(default_factory=list)  # digest files that can cover the folder (digest_policy on)


@dataclass
class FileResult:
    """One log file read and flattened."""

    uri: str
    path: str  # relative to the source root
    size: int
    etag: str | None
    sha256: str  # of the bytes as stored
    content_sha256: str | None  # of the uncompressed content, as digests list it; only when a digest covers the file
    records_read: int
    route53_records: int
    rejected: str | None  # error kind when the whole file went to quarantine
    events: pa.Table
    record_changes: pa.Table
    quarantine: pa.Table

    _TABLES = {"events": EVENTS, "record_changes": RECORD_CHANGES, "quarantine": QUARANTINE}

    def __getstate__(self) -> dict:
        # Most files hold no Route 53 record: their empty tables are not sent between processes
        # (pickling a 60-column schema costs more than reading the file did).
        return {k: (None if k in self._TABLES and v.num_rows == 0 else v) for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({k: (self._TABLES[k].empty if v is None and k in self._TABLES else v) for k, v in state.items()})


@dataclass
class DaySummary:
    """What publishing one day folder did; the numbers reconcile (see `reconcile`)."""

    delivery_date: str
    account: str
    region: str
    org_id: str | None
    files_listed: int = 0
    files_rejected: int = 0
    bytes_read: int = 0
    records_read: int = 0
    route53_records: int = 0
    events_written: int = 0
    duplicates_dropped: int = 0
    record_changes_written: int = 0
    records_quarantined: int = 0
    keys_skipped: int = 0
    rejected_kinds: dict[str, int] = field(default_factory=dict)
    digest_problems: int = 0
    outputs: list[str] = field(default_factory=list)


def list_trails(settings: LakeSettings) -> tuple[list[Trail], list[Skipped]]:
    return find_trails(open_store(settings.source), settings.accounts)


def list_day(settings: LakeSettings, trails: list[Trail], day: date) -> list[DayListing]:
    """Every (account, region) folder of one delivery day that exists, with its log files."""
    source = open_store(settings.source)
    listings = []
    for trail in trails:
        for region in settings.regions:
            unit = DayFolder(day, trail, region)
            objects, skipped = list_day_folder(source, unit)
            if objects or skipped or _manifest_exists(settings, unit):
                listings.append(DayListing(unit, objects, skipped, list_digests(settings, source, unit)))
    return listings


def list_digests(settings: LakeSettings, source: Store, unit: DayFolder) -> list[str]:
    if settings.digest_policy == "off":
        return []
    return [e.path for folder in digest_folders(unit) for e in source.list(folder)
            if not e.is_dir and e.path.endswith(".json.gz")]


def batches(objects: list[LogObject], parallel: int = FILE_CONCURRENCY, largest: int = 64) -> list[list[LogObject]]:
    """A folder's files in about 2 x parallel batches of consecutive files, at most `largest` each:
    the flow runs one task per batch, since a Prefect task run costs tens of milliseconds, as much
    as reading a small file, and a night of a large organisation has hundreds of thousands."""
    size = min(largest, max(1, math.ceil(len(objects) / (2 * parallel))))
    return [objects[start:start + size] for start in range(0, len(objects), size)]


def read_and_flatten(settings: LakeSettings, obj: LogObject, day: date, hash_content: bool = False) -> FileResult:
    """Read one log file and flatten its selected records. I/O errors raise (they are retriable);
    bad data never raises: it comes back as quarantine rows.

    hash_content: also hash the uncompressed content for the digest check. It costs about as much
    as decompressing, so only folders that a digest covers pay for it."""
    source = open_store(settings.source)
    data = source.read_bytes(obj.path)
    uri = source.uri_of(obj.path)
    common = {"uri": uri, "path": obj.path, "size": len(data), "etag": obj.etag, "sha256": hashlib.sha256(data).hexdigest(),
              "content_sha256": "" if hash_content else None}  # "": undecodable, matches no digest
    limits = settings.limits()
    try:
        content = decompress(data, limits=limits)
        if hash_content:
            common["content_sha256"] = hashlib.sha256(content).hexdigest()
        flat = flatten_file(content, source_file=uri, delivery_date=day, event_sources=frozenset(settings.event_sources),
                            window=TimeWindow.until(datetime.now(UTC)), limits=limits)
    except Rejected as error:
        return FileResult(
            **common, records_read=0, route53_records=0, rejected=str(error.kind),
            events=EVENTS.empty, record_changes=RECORD_CHANGES.empty,
            quarantine=pa.Table.from_pylist([quarantine_row(uri, None, error)], schema=QUARANTINE.schema),
        )
    return FileResult(
        **common, records_read=flat.records_read, route53_records=flat.selected, rejected=None,
        events=flat.events, record_changes=flat.record_changes, quarantine=flat.quarantine,
    )


def publish_day(settings: LakeSettings, listing: DayListing, results: list[FileResult]) -> DaySummary:
    """Write one day folder's rows to the lake, replacing exactly what an earlier run of it wrote.

    Each output file appears atomically; the manifest is written last, so it only ever describes
    files that exist. Files of an earlier run that this run no longer writes are removed.
    """
    unit = listing.unit
    events, changes, duplicates = deduplicated(results)
    quarantine = concat(QUARANTINE, (r.quarantine for r in results))
    summary = DaySummary(
        delivery_date=unit.day.isoformat(), account=unit.trail.account, region=unit.region, org_id=unit.trail.org_id,
        files_listed=len(listing.objects), files_rejected=sum(r.rejected is not None for r in results),
        bytes_read=sum(r.size for r in results), records_read=sum(r.records_read for r in results),
        route53_records=sum(r.route53_records for r in results), events_written=events.num_rows,
        duplicates_dropped=duplicates, record_changes_written=changes.num_rows,
        records_quarantined=sum(q is not None for q in quarantine["record_index"].to_pylist()),
        keys_skipped=len(listing.skipped),
        rejected_kinds=dict(Counter(quarantine["error_kind"].to_pylist())),
    )
    reconcile(summary, events, len(results))
    findings = check_digests(settings, listing, results)
    summary.digest_problems = 0 if findings is None else len(findings.problems)

    lake = open_store(settings.lake)
    name = unit.output_name(settings.source)
    outputs = {}
    for table, data in ((EVENTS, events), (RECORD_CHANGES, changes)):
        for event_date, part in split_by_event_date(data, table).items():
            outputs[f"{table.name}/event_date={event_date.isoformat()}/{name}.parquet"] = part
    if quarantine.num_rows:
        outputs[f"quarantine/delivery_date={unit.day.isoformat()}/{name}.parquet"] = _sorted(quarantine, QUARANTINE)
    put_options = settings.s3_put_options()
    for path, part in outputs.items():
        lake.write_bytes(path, parquet_bytes(part), **put_options)
    summary.outputs = sorted(outputs)

    manifest_path = f"{MANIFESTS}/delivery_date={unit.day.isoformat()}/{name}.json"
    previous = read_manifest(lake, manifest_path)
    for stale in sorted(set(previous.get("outputs", [])) - set(outputs)):
        lake.delete(stale)
    for folder in sorted({path.rsplit("/", 1)[0] for path in outputs}):
        lake.remove_stale_temporaries(folder)
    lake.write_bytes(manifest_path, manifest_bytes(settings, listing, results, summary, findings), **put_options)
    if summary.digest_problems and settings.digest_policy == "fail":
        raise DigestMismatchError(f"{unit.folder}: CloudTrail digests disagree with the bucket: {digest_text(findings)}")
    return summary


def check_digests(settings: LakeSettings, listing: DayListing, results: list[FileResult]) -> DigestFindings | None:
    """The day folder against the CloudTrail digests covering it; None when there are none (or
    the check is off). An unreadable digest is itself a finding: it promised nothing we can check."""
    if not listing.digests:
        return None
    source = open_store(settings.source)
    key = (lambda path: f"{source.key_prefix}/{path}") if source.key_prefix else (lambda path: path)
    public_keys = read_public_keys(settings.digest_public_keys) if settings.digest_signatures == "verify" else None
    digests, unreadable, bad_signatures = [], [], []
    for path in listing.digests:
        try:
            content = decompress(source.read_bytes(path))
            document = parse_json(content)
            digests.append(parse_digest(document))
        except Rejected:
            unreadable.append(path)
            continue
        if public_keys is not None:
            location = source.path(path)  # bucket/key for S3
            problem = signature_problem(location, document, content, source.metadata(path).get("signature"), public_keys)
            if problem:
                bad_signatures.append(f"{key(path)}: {problem}")
    findings = check(
        key(listing.unit.folder + "/"),
        {key(o.path): delivery_time(o.path) for o in listing.objects},
        {key(r.path): r.content_sha256 for r in results},
        digests,
    )
    findings.missing += [f"unreadable digest {key(p)}" for p in unreadable]
    findings.bad_signatures = bad_signatures
    findings.signatures_verified = 0 if public_keys is None else len(digests) - len(bad_signatures)
    return findings


def read_public_keys(uri: str) -> dict[str, bytes]:
    """The trail region's public keys, saved from `aws cloudtrail list-public-keys` (JSON)."""
    folder, name = posixpath.split(uri)
    try:
        return parse_public_keys(json.loads(open_store(folder or ".").read_bytes(name)))
    except (OSError, ValueError) as error:
        raise SettingsError(f"digest_public_keys: cannot use {uri}: {error}") from None


def digest_text(findings: DigestFindings) -> str:
    return (f"{len(findings.missing)} missing, {len(findings.unlisted)} not in any digest, "
            f"{len(findings.hash_mismatch)} altered, {len(findings.bad_signatures)} bad signature(s) "
            f"(first: {findings.problems[:3]})")


def deduplicated(results: list[FileResult]) -> tuple[pa.Table, pa.Table, int]:
    """The events and record changes of some files, one copy per event_id."""
    return drop_duplicate_events(
        concat(EVENTS, (r.events for r in results)), concat(RECORD_CHANGES, (r.record_changes for r in results))
    )


def folder_changed(settings: LakeSettings, listing: DayListing) -> bool:
    """Whether a day folder's listing differs from what its manifest says was read last time
    (a late file, a replaced file, a removed file). A folder never published has changed."""
    name = listing.unit.output_name(settings.source)
    manifest = read_manifest(open_store(settings.lake), f"{MANIFESTS}/delivery_date={listing.unit.day.isoformat()}/{name}.json")
    if not manifest:
        return True
    source = open_store(settings.source)
    listed = {(source.uri_of(o.path), o.size, o.etag) for o in listing.objects}
    return listed != {(f["uri"], f["size"], f["etag"]) for f in manifest["files"]}


def reconcile(summary: DaySummary, events: pa.Table, files_read: int) -> None:
    """Every Route 53 record read is an event, a dropped duplicate, or a quarantined record; every
    change of every published event is a record_changes row; every listed file was read."""
    problems = []
    if files_read != summary.files_listed:
        problems.append(f"{summary.files_listed} files listed but {files_read} read")
    accounted = summary.events_written + summary.duplicates_dropped + summary.records_quarantined
    if summary.route53_records != accounted:
        problems.append(
            f"{summary.route53_records} Route 53 records read but {summary.events_written} events + "
            f"{summary.duplicates_dropped} duplicates + {summary.records_quarantined} quarantined = {accounted}"
        )
    expected_changes = sum(n or 0 for n in events["change_count"].to_pylist())
    if summary.record_changes_written != expected_changes:
        problems.append(f"events carry {expected_changes} changes but {summary.record_changes_written} rows were made")
    if problems:
        where = f"{summary.account}/{summary.region} {summary.delivery_date}"
        raise ReconciliationError(f"counts do not reconcile for {where}: " + "; ".join(problems))


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_statistics=True)
    return sink.getvalue().to_pybytes()


def _sorted(data: pa.Table, table: Table) -> pa.Table:
    return data.sort_by([(k, "ascending") for k in table.sort_by])


def read_manifest(lake: Store, path: str) -> dict:
    try:
        return json.loads(lake.read_bytes(path))
    except FileNotFoundError:
        return {}


def _manifest_exists(settings: LakeSettings, unit: DayFolder) -> bool:
    name = unit.output_name(settings.source)
    return open_store(settings.lake).exists(f"{MANIFESTS}/delivery_date={unit.day.isoformat()}/{name}.json")


def manifest_bytes(settings: LakeSettings, listing: DayListing, results: list[FileResult], summary: DaySummary,
                   findings: DigestFindings | None = None) -> bytes:
    """What a later run needs to tell whether the day changed, and what an analyst needs to see
    what was loaded. Deterministic: a rerun over the same input writes the same bytes."""
    manifest = {
        "source": settings.source,
        "event_sources": settings.event_sources,
        "folder": listing.unit.folder,
        "files": [
            {"uri": r.uri, "size": r.size, "etag": r.etag, "sha256": r.sha256,
             "records": r.records_read, "route53_records": r.route53_records, "rejected": r.rejected}
            for r in sorted(results, key=lambda r: r.uri)
        ],
        "skipped": [asdict(s) for s in listing.skipped],
        "counts": {k: v for k, v in asdict(summary).items() if k != "outputs"},
        "outputs": summary.outputs,
        "digest_check": None if findings is None else {**asdict(findings), "ok": findings.ok},
    }
    return json.dumps(manifest, indent=2, sort_keys=True).encode()


def describe(s: DaySummary) -> str:
    """One log line for one published day folder."""
    text = (
        f"{s.delivery_date} {s.account}/{s.region}: {s.files_listed} file(s), {s.records_read} record(s), "
        f"{s.route53_records} Route 53 -> {s.events_written} event(s), {s.record_changes_written} record change(s)"
    )
    if s.duplicates_dropped:
        text += f", {s.duplicates_dropped} duplicate(s) dropped"
    if s.rejected_kinds:
        text += ", quarantined: " + ", ".join(f"{n} {k}" for k, n in sorted(s.rejected_kinds.items()))
    return text


@dataclass
class RunSummary:
    days: list[str]
    folders: list[DaySummary] = field(default_factory=list)
    largest_worker_mib: int | None = None  # peak RSS of the largest reading process (--workers > 1)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.folders)

    def describe(self) -> str:
        names = ("files_listed", "records_read", "route53_records", "events_written",
                 "record_changes_written", "duplicates_dropped", "records_quarantined", "files_rejected")
        counts = ", ".join(f"{n.replace('_', ' ')}: {self.total(n)}" for n in names)
        memory = f"; largest worker process: {self.largest_worker_mib} MiB" if self.largest_worker_mib else ""
        return f"{len(self.days)} delivery day(s), {len(self.folders)} folder(s); {counts}{memory}"


def run_without_prefect(settings: LakeSettings, days: list[date], workers: int = 1) -> RunSummary:
    """The flow's steps called directly, no Prefect server: files are read and flattened in this
    process (workers=1) or on a pool of worker processes, which parse in parallel where threads
    would queue on the GIL. Publishing stays in this process, one day folder at a time."""
    run = RunSummary(days=[d.isoformat() for d in days])
    trails, _ = list_trails(settings)
    # fork where it is safe (Linux, and no thread in this process yet: an S3 source has started
    # fsspec's event-loop thread by now): a worker then starts at once instead of importing
    # everything again (half a second each). Otherwise spawn.
    start = "fork" if sys.platform.startswith("linux") and threading.active_count() == 1 else "spawn"
    pool = ProcessPoolExecutor(workers, mp_context=get_context(start), initializer=_die_with_parent) if workers > 1 else None
    spool = tempfile.mkdtemp(prefix="route53-lake-") if pool else ""  # private (0700), removed below
    try:
        for day in days:
            for listing in list_day(settings, trails, day):
                jobs = [(settings, obj, day, bool(listing.digests)) for obj in listing.objects]
                if pool:
                    folder_spool = tempfile.mkdtemp(dir=spool)
                    done = list(pool.map(_read_job, jobs, [folder_spool] * len(jobs), chunksize=4))
                    results = [_unspooled(result, paths) for result, paths, _ in done]
                    run.largest_worker_mib = max([run.largest_worker_mib or 0] + [peak for _, _, peak in done])
                else:
                    results = [read_and_flatten(*job) for job in jobs]
                run.folders.append(publish_day(settings, listing, results))
                if pool:
                    shutil.rmtree(folder_spool, ignore_errors=True)  # mapped tables stay readable (Linux, macOS)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
            shutil.rmtree(spool, ignore_errors=True)
    return run


def _die_with_parent() -> None:
    """A worker must not outlive a killed run: on Linux the kernel signals it when the parent dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before the line above took effect
        os._exit(1)


_SPOOLED = {"events": EVENTS, "record_changes": RECORD_CHANGES}


def _read_job(job: tuple[LakeSettings, LogObject, date, bool], spool: str) -> tuple[FileResult, dict[str, str], int]:
    """A worker's read, with the worker's peak memory so far (MiB). The file's Route 53 rows are
    handed over as Arrow IPC files in the spool folder, which the parent maps into memory: sending
    them through the pool's pipe cost the parent as much CPU as a worker's reading."""
    result = read_and_flatten(*job)
    paths = {}
    for name in _SPOOLED:
        table = getattr(result, name)
        if table.num_rows:
            paths[name] = os.path.join(spool, f"{uuid.uuid4().hex}.arrow")
            with pa.ipc.new_file(paths[name], table.schema) as writer:
                writer.write_table(table)
    return replace(result, **{name: _SPOOLED[name].empty for name in paths}), paths, _peak_rss_mib()


def _unspooled(result: FileResult, paths: dict[str, str]) -> FileResult:
    return replace(result, **{name: pa.ipc.open_file(pa.memory_map(path)).read_all() for name, path in paths.items()})


def _peak_rss_mib() -> int:
    """This process's own high-water mark (VmHWM). Not ru_maxrss, which on Linux also counts the
    memory of the parent the process was forked from."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0
