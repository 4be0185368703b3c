"""What is checked before any work, for the command line and the flows alike: a refused run says
why in one line, in seconds, and never N times (once per child run of a backfill)."""

from __future__ import annotations

import os

from flows.settings import LakeSettings, SettingsError


def preflight(settings: LakeSettings) -> None:
    """What can be checked before any file is read: the public keys a verification needs (a local
    file is read by the settings themselves), and that a local lake can be written."""
    if settings.digest_signatures == "verify" and settings.digest_public_keys and settings.digest_public_keys.startswith("s3://"):
        from flows.source.digests import read_public_keys

        read_public_keys(settings.digest_public_keys)  # SettingsError naming the file and the problem
    if not settings.lake.startswith("s3://"):
        writable_folder(settings.lake)


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
    from flows.pipeline import list_trails

    try:
        trails, _ = list_trails(settings)
    except FileNotFoundError as error:
        raise SettingsError(f"source: {error}; check the source prefix (it must hold AWSLogs/)") from None
    if not trails:
        wanted = f" of accounts {', '.join(settings.accounts)}" if settings.accounts else ""
        raise SettingsError(f"source: {settings.source}/AWSLogs/ holds no account folder{wanted}; check the source prefix and accounts")
    return len(trails)


def check_before_any_work(settings: LakeSettings) -> None:
    """Lake and source, once: a backfill checks them before it starts any child run."""
    preflight(settings)
    check_source(settings)
