"""What a person sees when a command fails: one line on stderr that says what happened, which
file or setting, and what to do; no traceback (unless --debug), no secret. Exit status 0 done,
1 the run failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import copy
import errno
import logging
import os
import re
import sys
import traceback

from flows.redact import redact

DONE, FAILED, BAD_ARGUMENTS, INTERRUPTED = 0, 1, 2, 130
# Prefect reads overrides of its logging.yml from PREFECT_LOGGING_<path>: here handlers.console.level.
WORKERS_CONSOLE_LEVEL = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"
_MAX_LINE = 1000


class UsageError(Exception):
    """A command line that cannot be run as written (exit 2)."""


class Parser(argparse.ArgumentParser):
    """argparse, with a mistake reported as one line instead of the usage block and a message."""

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} --help)")


def positive_int(upper: int):
    """An argparse type: a whole number from 1 to upper."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not 1 <= value <= upper:
            raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {upper}, got {text[:20]!r}")
        return value

    parse.__name__ = "number"
    return parse


def fail(message: object, code: int) -> int:
    """Print the one line and return the exit status."""
    line = " ".join(redact(str(message)).split())
    if len(line) > _MAX_LINE:
        line = line[:_MAX_LINE] + "..."
    print(f"error: {line}", file=sys.stderr)
    return code


def debug_traceback(debug: bool) -> None:
    if debug:
        print(redact(traceback.format_exc()), file=sys.stderr, end="")


def plain(exc: Exception) -> str:
    """A settings error as a person reads it: pydantic's messages without its wrapping."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for e in exc.errors(include_input=False, include_url=False):
            message = e["msg"].removeprefix("Value error, ")
            field = ".".join(str(p) for p in e["loc"])
            parts.append(message if not field or message.startswith(field.split(".")[-1]) else f"{field}: {message}")
        return "; ".join(parts)
    return str(exc)


def explain_failure(exc: BaseException, source: str = "", lake: str = "") -> str:
    """One line for a failed run: what happened, where, and what to do."""
    name = type(exc).__name__
    text = str(exc)
    where = getattr(exc, "filename", None)
    local = isinstance(where, str) and where.startswith("/")  # s3fs names objects bucket/key, never /...
    if name in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError") or "unable to locate credentials" in text.lower():
        purpose = f"read {source} and write {lake}" if source else f"read the lake {lake or ''}".rstrip()
        return (f"no AWS credentials found to {purpose}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or run with an instance or task role")
    if name in ("SettingsError", "OutsideRootError", "LakeNotFoundError"):
        return text
    if isinstance(exc, PermissionError):
        if local:
            return (f"permission denied: {where}: the user running route53-lake may not use it; "
                    "fix its owner or mode (ls -ld), or choose another --source / --lake")
        return (f"access denied by S3: {text}. The credentials in use lack a permission: compare them with "
                "iam/reader-policy.json (source) and iam/writer-policy.json (lake); see README, 'Pointing it at a real bucket'")
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return f"read-only file system: cannot write {where or lake}; choose a --lake on a writable file system"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left (or quota reached) writing {where or lake}; free some space or choose another --lake"
    if isinstance(exc, FileNotFoundError):
        return f"not found: {where or text}; check {_location_of(str(where or text), source, lake)}"
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return f"refusing {where}: a symbolic link below the root is never followed; remove it"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; the lake keeps only whole files, and the next run converges"
    if name in ("ReconciliationError", "DigestMismatchError", "BackfillFailed"):
        return text
    if type(exc).__module__.startswith(("duckdb", "_duckdb")):
        return f"DuckDB could not read the lake {lake}: {_duckdb_cause(text) or name}"
    return f"{name}: {text} (run again with --debug to see where it happened)"


def cannot_open(exc: BaseException, lake: str) -> str:
    """Why the lake cannot be queried, in one line: what is missing (credentials, a bucket), never
    DuckDB's traceback of the file system it reads through, nor a secret."""
    explained = explain_failure(exc, lake=lake)
    if explained.startswith("no AWS credentials"):
        return explained
    return f"cannot open the lake {lake}: {_duckdb_cause(str(exc)) or type(exc).__name__}"


def _location_of(missing: str, source: str, lake: str) -> str:
    """Which option names the location something was missing from (s3fs names objects bucket/key)."""
    for option, location in (("--lake", lake), ("--source", source)):
        if location and location.removeprefix("s3://").rstrip("/") in missing:
            return option
    return "--source and --lake"


_PYTHON_ERROR = re.compile(r"^(\w+(?:Error|Exception)): (.+)$", re.MULTILINE)


def _duckdb_cause(text: str) -> str:
    """DuckDB's message in one line: an error of the Python file system it read through (s3fs)
    arrives as that error's whole traceback and the query's position; its last line is the cause."""
    wrapped = _PYTHON_ERROR.findall(text)
    if wrapped:
        return ": ".join(wrapped[-1])
    return text.strip().splitlines()[0] if text.strip() else ""


class _NoTraceback(logging.Formatter):
    """Formats a record as the wrapped formatter does, without its traceback: Prefect's console
    handler prints whole tracebacks of failed task and flow runs; they stay in the run's log."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        if not (record.exc_info or record.exc_text or record.stack_info):
            return self.inner.format(record)
        bare = copy.copy(record)
        bare.exc_info = bare.exc_text = bare.stack_info = None
        return self.inner.format(bare)


def quiet_prefect_console() -> None:
    """Prefect's console handler (the root logger's, shared by the server's loggers) prints log
    lines but no tracebacks; the API handler, and so the run's log in the UI, keeps them."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for logger in (logging.getLogger(), *(logging.getLogger(n) for n in ("uvicorn", "fastapi", "prefect"))):
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and not isinstance(handler.formatter, _NoTraceback):
                handler.setFormatter(_NoTraceback(handler.formatter))


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def prefect_console_warnings_only() -> None:
    """The command line prints what happened itself, once the run is done (a line per folder,
    the totals): Prefect's console shows only warnings and errors meanwhile (a rejected file, a
    failed folder), not a line per task state. The run's log on the server keeps everything.
    Processes the run starts later (a local Dask cluster's workers, whose task runs log to the
    console they inherit from ours) configure Prefect's logging from the environment: there, the
    console handler's level is set; their API handler keeps every level."""
    from prefect.logging.handlers import PrefectConsoleHandler

    os.environ[WORKERS_CONSOLE_LEVEL] = "WARNING"

    for logger in (logging.getLogger(), *(logging.getLogger(n) for n in ("prefect", "prefect.flow_runs", "prefect.task_runs"))):
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and not any(isinstance(f, _WarningsOnly) for f in handler.filters):
                handler.addFilter(_WarningsOnly())
