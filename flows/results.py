"""What the pipeline's steps hand each other: the units of work (a trail, a day folder, a log
object), a day folder's listing, one file read, what staging a folder did, and what a whole run
did, and how a run that had failures fails. Plain data, picklable (Dask carries them); the source
and the lake packages both import them from here, so the lake never imports the source."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES

# The bounded lists of a night's DNS summary (flows.query.summary.QUERIES computes them, the page in
# flows.orchestration.report renders them), in the order they are computed.
SUMMARY_LISTS = ("by_zone", "who", "risky", "changed", "failed", "others")


@dataclass(frozen=True)
class Trail:
    """One account's CloudTrail tree: AWSLogs/[o-ORGID/]ACCOUNT. An account that joined an
    organization and kept its own trail has two: both are read, and events they share are kept once."""

    account: str
    org_id: str | None = None

    def sort_key(self) -> tuple[str, str]:
        return self.account, self.org_id or ""

    @property
    def folder(self) -> str:
        return f"AWSLogs/{self.org_id}/{self.account}" if self.org_id else f"AWSLogs/{self.account}"


@dataclass(frozen=True)
class DayFolder:
    """The unit of work and of replacement: one account, region and delivery day."""

    day: date
    trail: Trail
    region: str

    @property
    def folder(self) -> str:
        return f"{self.trail.folder}/CloudTrail/{self.region}/{self.day:%Y/%m/%d}"

    def output_name(self, source: str) -> str:
        """Name of the files this unit stages in every partition it touches, and of its manifest.
        `source` is the source's identity (flows.storage.store.source_identity), so a rerun replaces exactly
        what the unit staged before however the location is spelt. The trail (with or without an
        organization) is part of the name: an account logged by two trails is two units."""
        trail_id = hashlib.sha256(f"{source}|{self.trail.folder}".encode()).hexdigest()[:8]
        return f"{self.day.isoformat()}_{self.trail.account}_{self.region}_{trail_id}"


@dataclass(frozen=True)
class LogObject:
    path: str  # relative to the source root
    size: int
    etag: str | None
    mtime: float | None = None  # local sources only


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


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
    records_read: int | None  # None when the file was not parsed (see `parsed`)
    route53_records: int
    rejected: str | None  # error kind when the whole file went to quarantine
    events: pa.Table
    record_changes: pa.Table
    quarantine: pa.Table
    mtime: float | None = None  # local sources: the file's modification time when it was listed
    spooled: dict[str, str] = field(default_factory=dict)  # table name -> Arrow IPC file holding its rows (flows/storage/spool.py)
    reader_peak_mib: int | None = None  # peak RSS of the worker process that read the file
    parsed: bool = True  # False: its bytes cannot spell a selected eventSource, so it was neither parsed nor counted

    _TABLES = {"events": EVENTS, "record_changes": RECORD_CHANGES, "quarantine": QUARANTINE}

    def __getstate__(self) -> dict:
        # Most files hold no Route 53 record: their empty tables are not sent between processes
        # (pickling a 60-column schema costs more than reading the file did).
        return {k: (None if k in self._TABLES and v.num_rows == 0 else v) for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({k: (self._TABLES[k].empty if v is None and k in self._TABLES else v) for k, v in state.items()})


@dataclass
class DaySummary:
    """What staging one day folder did; the numbers reconcile (see `flows.lake.publish.reconcile`)."""

    delivery_date: str
    account: str
    region: str
    org_id: str | None
    files_listed: int = 0
    files_rejected: int = 0
    bytes_read: int = 0
    records_read: int = 0  # records of the files parsed (a file not parsed is not counted: files_not_parsed)
    route53_records: int = 0
    events_written: int = 0
    duplicates_dropped: int = 0
    record_changes_written: int = 0
    records_quarantined: int = 0
    keys_skipped: int = 0
    rejected_kinds: dict[str, int] = field(default_factory=dict)
    digest_problems: int = 0
    files_missing: int = 0  # files an earlier run read that the source no longer has: their rows are kept
    events_from_missing_files: int = 0
    files_not_parsed: int = 0  # files whose bytes cannot spell a selected eventSource: read, not parsed, not counted
    outputs: list[str] = field(default_factory=list)  # staged files of the folder


def describe(s: DaySummary) -> str:
    """One log line for one published day folder."""
    trail = f"{s.org_id}/" if s.org_id else ""
    text = (
        f"{s.delivery_date} {trail}{s.account}/{s.region}: {s.files_listed} file(s), {s.records_read} record(s), "
        f"{s.route53_records} Route 53 -> {s.events_written} event(s), {s.record_changes_written} record change(s)"
    )
    if s.files_not_parsed:
        text += f", {s.files_not_parsed} file(s) not parsed (they name no selected eventSource; their records are not counted)"
    if s.duplicates_dropped:
        text += f", {s.duplicates_dropped} duplicate(s) dropped"
    if s.files_missing:
        text += f", {s.files_missing} file(s) gone from the source (their {s.events_from_missing_files} event(s) kept)"
    # one vocabulary with the run's totals: files are rejected, records are quarantined (both
    # leave rows in the quarantine table, whose error kinds close the line)
    if s.files_rejected:
        text += f", {s.files_rejected} file(s) rejected"
    if s.records_quarantined:
        text += f", {s.records_quarantined} record(s) quarantined"
    if s.rejected_kinds:
        text += " (" + ", ".join(f"{n} {k}" for k, n in sorted(s.rejected_kinds.items())) + ")"
    return text


@dataclass
class FolderFailure:
    """A day folder (or a partition) that failed for a reason that is not the data."""

    what: str
    error: str
    digest: bool = False  # a digest finding under digest_policy fail (the folder itself was published)


@dataclass
class RunSummary:
    days: list[str]
    folders: list[DaySummary] = field(default_factory=list)
    failures: list[FolderFailure] = field(default_factory=list)
    partitions_rebuilt: int = 0
    largest_worker_mib: int | None = None  # peak RSS of the largest reading process (--workers > 1)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # the flow run's id, or the command line's own

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.folders)

    def fail(self, what: str, error: Exception) -> None:
        """Note that one part of the run failed (for a reason that is not the data); the run goes on."""
        notes = "".join(f" ({note})" for note in getattr(error, "__notes__", []))  # e.g. which partition
        self.failures.append(FolderFailure(what, f"{type(error).__name__}: {error}{notes}"))

    def describe(self) -> str:
        names = ("files_listed", "records_read", "route53_records", "events_written",
                 "record_changes_written", "duplicates_dropped", "records_quarantined", "files_rejected")
        counts = ", ".join(f"{n.replace('_', ' ')}: {self.total(n)}" for n in names)
        memory = f"; largest worker process: {self.largest_worker_mib} MiB" if self.largest_worker_mib else ""
        if self.total("files_not_parsed"):
            counts += f", files not parsed (no selected eventSource, records not counted): {self.total('files_not_parsed')}"
        failed = f"; FAILED: {len(self.failures)}" if self.failures else ""
        return (f"{len(self.days)} delivery day(s), {len(self.folders)} folder(s); {counts}; "
                f"partitions rebuilt: {self.partitions_rebuilt}{memory}{failed}")


class DigestMismatchError(RuntimeError):
    """CloudTrail's digests disagree with the bucket (digest_policy = fail). The day is published
    and its manifest lists the findings."""


class RunFailed(RuntimeError):
    """Some day folders or partitions failed for a reason that is not the data; the rest, if any, was published."""

    def __init__(self, run: RunSummary) -> None:
        self.run = run
        shown = "; ".join(f"{f.what}: {f.error}" for f in run.failures[:5])
        more = f" (and {len(run.failures) - 5} more)" if len(run.failures) > 5 else ""
        rest = "the rest was published" if run.folders else "nothing was published"
        super().__init__(f"{len(run.failures)} part(s) of the run failed, {rest}: {shown}{more}")


def raise_failures(run: RunSummary) -> None:
    """Fail a run that had failures, once everything else is published: DigestMismatchError when
    only digests disagreed (digest_policy fail), else RunFailed naming what failed and why."""
    if run.failures and all(f.digest for f in run.failures):
        raise DigestMismatchError("; ".join(f.error for f in run.failures))
    if run.failures:
        raise RunFailed(run)


def is_transient(exc: BaseException) -> bool:
    """I/O that may succeed on retry: throttling, resets, timeouts. Not missing keys, access denied,
    or a local condition a retry 1, 4 and 15 s later cannot change: a read-only or full file system,
    a quota, a name too long, a refused symbolic link (ELOOP), a file too large."""
    import errno

    permanent = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
    lasting = (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG, errno.ELOOP, errno.EFBIG, errno.EXDEV)
    if isinstance(exc, permanent) or getattr(exc, "errno", None) in lasting:
        return False
    return isinstance(exc, (OSError, TimeoutError))
