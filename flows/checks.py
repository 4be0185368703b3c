"""What is checked before any work, for the command line and the flows alike: a refused run says
why in one line, in seconds, and never N times (once per child run of a backfill)."""

from __future__ import annotations

import os

from flows.settings import LakeSettings, SettingsError


def preflight(settings: LakeSettings) -> None:
    """What can be checked before any file is read: the public keys a verification needs (a local
    file is read by the settings themselves), that the lake can be written (a local folder) or its
    bucket exists (S3), and that the source holds AWSLogs/. Each refusal names the location at
    fault: a missing lake bucket was found only after every file was read, as a failed folder."""
    if settings.digest_signatures == "verify" and settings.digest_public_keys and settings.digest_public_keys.startswith("s3://"):
        from flows.source.digests import read_public_keys

        read_public_keys(settings.digest_public_keys)  # SettingsError naming the file and the problem
    check_lake_root(settings.lake)
    check_source_root(settings.source)


def check_lake_root(lake: str) -> None:
    """A local lake is a folder we may write (or create); an S3 lake's bucket exists, and its
    prefix may be listed (the lake's first run creates the prefix itself)."""
    if not lake.startswith("s3://"):
        writable_folder(lake)
        return
    try:
        _store(lake).holds_anything()
    except FileNotFoundError as error:
        raise SettingsError(f"lake: {error}; create it, or give the lake (--lake) a bucket that exists") from None
    except PermissionError as error:
        raise PermissionError(f"listing the lake {lake}: {error}") from None


def check_source_root(source: str) -> None:
    """The source exists and holds AWSLogs/ (one LIST of one key on S3)."""
    store = _store(source)
    if store.is_local and not os.path.isdir(store.root):
        raise SettingsError(f"source: no folder {source}; check the source (--source): it is the folder that holds AWSLogs/")
    try:
        found = store.holds_anything("AWSLogs")
    except FileNotFoundError as error:
        raise SettingsError(f"source: {error}; check the source (--source)") from None
    except PermissionError as error:
        raise PermissionError(f"listing the source {source}/AWSLogs/: {error}") from None
    if not found:
        raise SettingsError(f"source: {source}/AWSLogs/ is missing or empty; check the source prefix (--source): "
                            "it is the location that holds CloudTrail's AWSLogs/ folder")


def _store(location: str):
    from flows.storage.store import open_store  # s3fs: imported when a location is checked, not with the settings

    return open_store(location)


def writable_folder(location: str) -> None:
    """A local lake exists as a folder we may write, or can be created in one."""
    path = os.path.abspath(os.path.expanduser(location))
    existing = path
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise SettingsError(f"lake: {existing} is a file, not a folder; choose another --lake")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SettingsError(f"lake: cannot write in {existing} (permission denied or a read-only file system); "
                            "choose a folder this user can write, or fix its owner or mode")


def check_source(settings: LakeSettings) -> int:
    """The source holds at least one account's CloudTrail folder (of the accounts asked for): the
    number of trails found. A wrong prefix or account list is a SettingsError naming both."""
    from flows.source.listing import find_trails
    from flows.storage.store import open_store

    try:
        trails, _ = find_trails(open_store(settings.source), settings.accounts)
    except FileNotFoundError as error:
        raise SettingsError(f"source: {error}; check the source prefix (--source): it must hold AWSLogs/") from None
    if not trails:
        wanted = f" of accounts {', '.join(settings.accounts)}" if settings.accounts else ""
        raise SettingsError(f"source: {settings.source}/AWSLogs/ holds no account folder{wanted}; "
                            f"check the source prefix (--source){' and the accounts (--account)' if wanted else ''}")
    return len(trails)


def check_before_any_work(settings: LakeSettings) -> None:
    """Lake and source, before any work: the command line's, each flow's (flows/route53_lake.py),
    and a backfill's before it starts any child run (a refused backfill is refused once)."""
    preflight(settings)
    check_source(settings)
