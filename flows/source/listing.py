"""Listing CloudTrail log files by delivery-day folder, never by scanning the bucket.

Layout: [prefix/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE. The cost of a run's
listing is 1 + (organizations) calls to find accounts, one per account and day to find the regions
the trail delivers (unless the regions are given), then one call per account x region x day
(and two per folder found for its digests). A day's folders are listed at once, a bounded number
of LISTs in flight (flows/storage/fetch.py): an organisation has hundreds of (account, region)
folders a day, and each LIST waits for S3's first byte.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flows.results import DayFolder, LogObject, Skipped, Trail
from flows.storage.fetch import list_many
from flows.storage.store import Entry, Store
from transforms.cloudtrail.file_names import LOG_FILE_NAME, SPELLED

_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+){1,4}")  # as flows.settings.REGION
_ORG = re.compile(r"o-[a-z0-9]{10,32}")


def digest_folders(unit: DayFolder) -> list[str]:
    """Digest folders that can cover a day folder: its own day's, and the next day's (the digest
    of a day's last hour is written just after midnight)."""
    return [f"{unit.trail.folder}/CloudTrail-Digest/{unit.region}/{day:%Y/%m/%d}" for day in (unit.day, unit.day + timedelta(days=1))]


def find_trails(store: Store, accounts: list[str] | None) -> tuple[list[Trail], list[Skipped]]:
    """Accounts one level under AWSLogs/ and under each AWSLogs/o-ORGID/ (organization trails)."""
    trails, skipped = [], []
    entries = store.list("AWSLogs")
    if not entries:
        raise FileNotFoundError(f"no CloudTrail logs: {store.uri}/AWSLogs/ is missing or empty")
    for entry in entries:
        name = entry.path.rsplit("/", 1)[-1]
        if entry.is_dir and _ACCOUNT.fullmatch(name):
            trails.append(Trail(name))
        elif entry.is_dir and _ORG.fullmatch(name):
            for member in store.list(entry.path):
                member_name = member.path.rsplit("/", 1)[-1]
                if member.is_dir and _ACCOUNT.fullmatch(member_name):
                    trails.append(Trail(member_name, name))
                else:
                    skipped.append(Skipped(member.path, "not an account folder of an organization trail"))
        else:
            skipped.append(Skipped(entry.path, "not an account or organization folder"))
    if accounts is not None:
        wanted = set(accounts)
        trails = [t for t in trails if t.account in wanted]
    return sorted(trails, key=Trail.sort_key), skipped


def find_regions(store: Store, trails: list[Trail], concurrency: int) -> list[list[str]]:
    """The region folders under each trail's CloudTrail/ (the regions the trail delivers), in the
    order given, with up to `concurrency` LISTs in flight. Resolver, DNS Firewall, Profiles and ARC
    log in the region called, so these are the regions where their calls can be."""
    listed = list_many(store, [f"{trail.folder}/CloudTrail" for trail in trails], concurrency)
    return [sorted(name for e in entries if e.is_dir and _REGION.fullmatch(name := e.path.rstrip("/").rsplit("/", 1)[-1]))
            for entries in listed]


def list_day_folder(store: Store, unit: DayFolder) -> tuple[list[LogObject], list[Skipped]]:
    """The CloudTrail log files of one day folder, and every other key found there with the reason."""
    return _log_files(store.list(unit.folder), unit)


def list_day_folders(store: Store, units: list[DayFolder], concurrency: int) -> list[tuple[list[LogObject], list[Skipped]]]:
    """`list_day_folder` of every unit, in the order given, with up to `concurrency` LISTs in flight."""
    return [_log_files(entries, unit) for unit, entries in zip(units, list_many(store, [u.folder for u in units], concurrency), strict=True)]


def list_digest_files(store: Store, units: list[DayFolder], concurrency: int) -> list[list[str]]:
    """The digest files (.json.gz) that can cover each unit (`digest_folders`), in the order
    given, with up to `concurrency` LISTs in flight."""
    folders = [digest_folders(unit) for unit in units]
    listed = iter(list_many(store, [f for pair in folders for f in pair], concurrency))
    return [[e.path for _ in pair for e in next(listed) if not e.is_dir and e.path.endswith(".json.gz")] for pair in folders]


def _log_files(entries: list[Entry], unit: DayFolder) -> tuple[list[LogObject], list[Skipped]]:
    objects, skipped = [], []
    for entry in entries:
        reason = _skip_reason(entry, unit)
        if reason:
            skipped.append(Skipped(entry.path, reason))
        else:
            objects.append(LogObject(entry.path, entry.size, entry.etag, entry.mtime))
    return sorted(objects, key=lambda o: o.path), skipped


def _skip_reason(entry: Entry, unit: DayFolder) -> str | None:
    name = entry.path.rsplit("/", 1)[-1]
    if entry.path in (unit.folder, unit.folder + "/") or not name:
        return "a folder marker"
    if entry.is_dir:
        return "a folder inside a day folder"
    match = LOG_FILE_NAME.fullmatch(name)
    if match is None:
        return f"not a CloudTrail log file name ({SPELLED})"
    if match["account"] != unit.trail.account or match["region"] != unit.region:
        return f"named for {match['account']}/{match['region']} but stored under {unit.trail.account}/{unit.region}"
    return None
