"""Command line of route53-lake: CloudTrail log files -> Parquet lake of Route 53 changes.

    route53-lake --source s3://trail-bucket/prefix --lake s3://lake-bucket/route53 \\
        --start 2026-11-01 --end 2026-11-03
    route53-lake latest --lake LAKE
    route53-lake sql --lake LAKE
    route53-lake ddl --engine athena|duckdb --location LAKE
    route53-lake automations --webhook-url URL

(`python -m flows.cli` is the same command.) Runs the Prefect flow (flows/route53_lake.py), or
with --no-prefect the same steps directly. Every argument, the lake's root and the source's are
checked before any work (flows/checks.py); a failure is one line on stderr (flows/cli/errors.py).
Exit status 0 done, 1 the run failed, 2 bad arguments (a missing bucket or source folder included).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from datetime import date

from pydantic import ValidationError

from flows.checks import check_before_any_work
from flows.cli.errors import (
    BAD_ARGUMENTS,
    DONE,
    FAILED,
    INTERRUPTED,
    Parser,
    UsageError,
    debug_traceback,
    explain_failure,
    fail,
    plain,
    positive_int,
    prefect_console_warnings_only,
    quiet_prefect_console,
)
from flows.settings import ROUTE53_FAMILY, LakeSettings, SettingsError, delivery_days

PROG = "route53-lake"
MAX_WORKERS = 256
_DEFAULTS = LakeSettings()


def __getattr__(name: str):
    """`from flows.cli.main import route53_lake` works, but Prefect is only imported when the
    flow is used: the command line answers --help, bad arguments and --no-prefect runs fast."""
    if name == "route53_lake":
        from flows.route53_lake import route53_lake

        return route53_lake
    raise AttributeError(name)


# ---------------------------------------------------------------- command line

def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a date like 2026-11-01") from None


# The subcommands, as `--help` lists them; main() runs them. Without one, the command publishes (run).
SUBCOMMANDS = {
    "run": "publish delivery days to the lake (the default command)",
    "latest": "print the latest record changes in the lake",
    "sql": "query the lake with SQL (DuckDB): a prompt, or one query with -c or -f",
    "ddl": "print the SQL that makes the lake queryable in Athena or DuckDB",
    "automations": "create the example Prefect automations (automations/route53-lake.yaml)",
}


def parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<12} {what}" for name, what in SUBCOMMANDS.items())
    p = Parser(
        prog=PROG,
        usage=f"{PROG} [run] [options]\n       {PROG} {{{','.join(n for n in SUBCOMMANDS if n != 'run')}}} ...",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Turn CloudTrail log files into a Parquet lake of Route 53 API calls and record changes.\n\n"
        f"commands:\n{commands}\n\n'{PROG} COMMAND --help' describes each. The options below are run's.",
        epilog="S3 credentials come from the standard AWS chain (environment, ~/.aws, instance role), never from a location.\n"
        "Exit status: 0 done, 1 the run failed, 2 bad arguments.",
    )
    p.add_argument("--source", default=_DEFAULTS.source, help="CloudTrail location: s3://bucket/prefix or a folder holding AWSLogs/ (default: %(default)s)")
    p.add_argument("--lake", default=_DEFAULTS.lake, help="lake root: s3://bucket/prefix or a folder, apart from the source (default: %(default)s)")
    p.add_argument("--start", type=_date, help="first delivery day, UTC, YYYY-MM-DD (default: yesterday)")
    p.add_argument("--end", type=_date, help="last delivery day, inclusive (default: --start)")
    p.add_argument("--day", type=_date, action="append", dest="days", help="a delivery day to add to the range; repeatable")
    p.add_argument("--account", action="append", dest="accounts", help="12-digit account id; repeatable (default: all found)")
    p.add_argument("--region", action="append", dest="regions", help="CloudTrail region folder; repeatable, narrows the default (default: every region the trail delivers)")
    p.add_argument("--event-source", action="append", dest="event_sources", help="eventSource to keep; repeatable, replaces the default (default: the Route 53 family: "
                   + ", ".join(ROUTE53_FAMILY) + ")")
    p.add_argument("--digest-policy", choices=("off", "record", "fail"), help="CloudTrail digest check: off, record findings in the manifests (default), or fail the run on any")
    p.add_argument("--digest-signatures", choices=("off", "verify"), help="also verify each digest's signature (S3 sources; needs --digest-public-keys)")
    p.add_argument("--digest-public-keys", help="`aws cloudtrail list-public-keys` output saved as JSON: s3:// or a local path")
    p.add_argument("--drop-missing-files", action="store_true",
                   help="drop the rows of log files an earlier run read that the source no longer has (default: keep them)")
    p.add_argument("--no-prefect", action="store_true", help="run the same steps without Prefect (no server, no UI)")
    p.add_argument("--workers", type=positive_int(MAX_WORKERS), default=os.cpu_count() or 1,
                   help=f"processes reading and parsing files in parallel, 1 to {MAX_WORKERS} (default: the number of cores, %(default)s)")
    p.add_argument("--s3-requests-in-flight", type=positive_int(128), metavar="N",
                   help=f"S3 GETs each reading process keeps in flight (and LISTs of a day's folders), 1 to 128; "
                   f"each holds up to N log files in memory (default: {_DEFAULTS.s3_requests_in_flight})")
    p.add_argument("--task-runner", choices=("threads", "dask"),
                   help="where the Prefect flow's tasks run: threads in this process (default) or a Dask cluster")
    p.add_argument("--dask-address", metavar="tcp://HOST:PORT",
                   help="with --task-runner dask: an external Dask scheduler (default: a local cluster, one process per core); "
                   "its workers and this run need PREFECT_API_URL set to the same Prefect server")
    p.add_argument("--debug", action="store_true", help="on failure, also print the traceback (and Prefect's)")
    return p


def run_main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    settings = LakeSettings(accounts=args.accounts, **_given(
        source=args.source, lake=args.lake, regions=args.regions, event_sources=args.event_sources,
        digest_policy=args.digest_policy, digest_signatures=args.digest_signatures, digest_public_keys=args.digest_public_keys,
        drop_missing_files=args.drop_missing_files or None, workers=args.workers,
        task_runner=args.task_runner, dask_address=args.dask_address, s3_requests_in_flight=args.s3_requests_in_flight))
    days = delivery_days(args.start, args.end, args.days)
    try:
        check_runner(args, settings)
        check_before_any_work(settings)  # the lake's and the source's roots: one line naming the one at fault
        run = _run(args, settings, days)
    except SettingsError as exc:
        return fail(exc, BAD_ARGUMENTS)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        debug_traceback(args.debug)
        return fail(explain_failure(exc, settings.source, settings.lake), FAILED)
    from flows.results import describe

    for folder in run.folders:
        print(describe(folder))
    print(run.describe())
    print(f"lake: {settings.lake}")
    me, lake = this_command(), shlex.quote(settings.lake)
    print(f"query it: {me} latest --lake {lake}   or   {me} sql --lake {lake}")
    return DONE


def this_command() -> str:
    """How to run this command again from the current folder, as typed: `route53-lake` when PATH finds this
    very script, else its path (`.venv/bin/route53-lake` after `make run`), else `python -m flows.cli`."""
    script = os.path.abspath(sys.argv[0]) if sys.argv and os.path.basename(sys.argv[0]) == PROG else None
    if script is None:
        return f"{shlex.quote(_from_here(sys.executable))} -m flows.cli"
    on_path = shutil.which(PROG)
    if on_path and os.path.samefile(on_path, script):
        return PROG
    return shlex.quote(_from_here(script))


def _from_here(path: str) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path


def check_runner(args: argparse.Namespace, settings: LakeSettings) -> None:
    """--task-runner and --dask-address agree with each other and with --no-prefect, and an
    external cluster has a Prefect server its workers can share (flows.orchestration.dask_cluster)."""
    if args.no_prefect and (args.task_runner == "dask" or args.dask_address):
        raise SettingsError("--task-runner dask and --dask-address choose where the Prefect flow's tasks run; "
                            "--no-prefect runs without Prefect (use --workers)")
    if settings.dask_address and settings.task_runner != "dask":
        raise SettingsError("--dask-address needs --task-runner dask")
    if settings.dask_address and not os.environ.get("PREFECT_API_URL"):
        raise SettingsError("--dask-address: set PREFECT_API_URL, here and on the cluster's workers, to one Prefect server "
                            "they all reach (otherwise each worker starts a temporary server of its own)")


def _run(args: argparse.Namespace, settings: LakeSettings, days: list[date]):
    if args.no_prefect:
        from flows.pipeline import run_without_prefect
        from flows.storage.locks import terminate_releases_locks

        with terminate_releases_locks():  # a run told to stop releases its lake locks (flows.storage.locks)
            return run_without_prefect(settings, days, args.workers)
    if "PREFECT_API_URL" not in os.environ:
        # A temporary server lives only for this run: its own service logs (e.g. a flush
        # racing its shutdown) are noise here, while flow and task logs still show.
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    from flows.orchestration.temporary_server import start_temporary_server
    from flows.route53_lake import route53_lake

    start_temporary_server()  # if Prefect needs one: it dies with this run, and never holds the run's output

    if not args.debug:
        quiet_prefect_console()  # tracebacks stay in the run's log
        prefect_console_warnings_only()
    print(f"publishing {len(days)} delivery day(s) from {settings.source} to {settings.lake} (a Prefect flow run; "
          "warnings show as they happen, then a line per folder)", flush=True)
    return route53_lake(start=args.start, end=args.end, days=args.days, settings=settings)


def _given(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def _automations_main(argv: list[str]) -> int:
    from flows.orchestration.automations import main as automations_main  # Prefect is imported only for this command

    return automations_main(argv)


def _sql_main(argv: list[str]) -> int:
    from flows.cli.sql_shell import main as sql_main  # the analysts' SQL prompt over the lake; sqlglot only for this command

    return sql_main(argv)


def main(argv: list[str] | None = None) -> int:
    """The `route53-lake` console script and `python -m flows.cli`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    from flows.cli.query import ddl_main, latest_main

    commands = {"latest": latest_main, "ddl": ddl_main, "sql": _sql_main, "run": run_main, "automations": _automations_main}  # SUBCOMMANDS
    command, rest = (argv[0], argv[1:]) if argv[:1] and argv[0] in commands else ("run", argv)
    try:
        return commands[command](rest)
    except UsageError as exc:
        return fail(exc, BAD_ARGUMENTS)
    except (SettingsError, ValidationError) as exc:
        return fail(plain(exc), BAD_ARGUMENTS)
    except KeyboardInterrupt as exc:
        return fail(explain_failure(exc), INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
