"""Command line of route53-lake: CloudTrail log files -> Parquet lake of Route 53 changes.

    python -m flows.route53_lake --source s3://trail-bucket/prefix --lake s3://lake-bucket/route53 \\
        --start 2026-11-01 --end 2026-11-03

Runs the Prefect flow (flows/flow.py), or with --no-prefect the same steps directly.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from flows.pipeline import describe, run_without_prefect
from flows.settings import LakeSettings, SettingsError, delivery_days


def __getattr__(name: str):
    """`from flows.route53_lake import route53_lake` works, but Prefect is only imported when the
    flow is used: the command line answers --help, bad arguments and --no-prefect runs fast."""
    if name == "route53_lake":
        from flows.flow import route53_lake

        return route53_lake
    raise AttributeError(name)


# ---------------------------------------------------------------- command line

def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m flows.route53_lake",
        description="Turn CloudTrail log files into a Parquet lake of Route 53 API calls and record changes.",
        epilog="Also: 'python -m flows.route53_lake latest --lake LAKE' prints the latest record changes; "
        "'python -m flows.route53_lake ddl --engine athena|duckdb --location LAKE' prints the SQL to query it. "
        "S3 credentials come from the standard AWS chain (environment, ~/.aws, instance role). "
        "Exit status: 0 done, 1 the run failed, 2 bad arguments.",
    )
    p.add_argument("--source", default=LakeSettings().source, help="CloudTrail location: s3://bucket/prefix or a folder holding AWSLogs/ (default: %(default)s)")
    p.add_argument("--lake", default=LakeSettings().lake, help="lake root: s3://bucket/prefix or a folder (default: %(default)s)")
    p.add_argument("--start", type=_date, help="first delivery day, UTC, YYYY-MM-DD (default: yesterday)")
    p.add_argument("--end", type=_date, help="last delivery day, inclusive (default: --start)")
    p.add_argument("--day", type=_date, action="append", dest="days", help="a delivery day to add to the range; repeatable")
    p.add_argument("--account", action="append", dest="accounts", help="12-digit account id; repeatable (default: all found)")
    p.add_argument("--region", action="append", dest="regions", help="CloudTrail region folder; repeatable (default: us-east-1)")
    p.add_argument("--event-source", action="append", dest="event_sources", help="eventSource to keep; repeatable (default: route53.amazonaws.com)")
    p.add_argument("--digest-policy", choices=("off", "record", "fail"), help="CloudTrail digest check: off, record findings in the manifests (default), or fail the run on any")
    p.add_argument("--digest-signatures", choices=("off", "verify"), help="also verify each digest's signature (S3 sources; needs --digest-public-keys)")
    p.add_argument("--digest-public-keys", help="`aws cloudtrail list-public-keys` output saved as JSON: s3:// or a local path")
    p.add_argument("--no-prefect", action="store_true", help="run the same steps without Prefect (no server, no UI)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="with --no-prefect: processes reading and parsing files in parallel (default: the number of cores, %(default)s)")
    return p


def latest_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m flows.route53_lake latest", description="Print the latest record changes in the lake.")
    p.add_argument("--lake", default=LakeSettings().lake, help="lake root (default: %(default)s)")
    p.add_argument("--limit", type=int, default=15, help="rows to show (default: %(default)s)")
    args = p.parse_args(argv)
    from flows.duckdb_lake import latest_changes

    print(f"Latest record changes in {args.lake} (DuckDB):")
    latest_changes(args.lake, args.limit).show(max_width=250)
    return 0


def ddl_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m flows.route53_lake ddl",
        description="Print the SQL that makes the lake queryable: Athena tables (partition projection, "
        "no crawler, no MSCK REPAIR) and views, or DuckDB views.",
    )
    p.add_argument("--engine", choices=("athena", "duckdb"), default="athena")
    p.add_argument("--database", default="route53_lake", help="Athena database (default: %(default)s)")
    p.add_argument("--location", default=LakeSettings().lake, help="lake root: s3://bucket/prefix (Athena), or a folder or s3:// (DuckDB)")
    p.add_argument("--projection-start", default="2014-01-01", help="first event_date Athena projects (default: %(default)s)")
    args = p.parse_args(argv)
    from flows.duckdb_lake import setup_sql

    try:
        print(setup_sql(args.engine, args.location, args.database, args.projection_start), end="")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["latest"]:
        return latest_main(argv[1:])
    if argv[:1] == ["ddl"]:
        return ddl_main(argv[1:])
    if argv[:1] == ["sql"]:
        from flows import sql_shell  # the analysts' SQL prompt (flows/sql_shell.py)
        return sql_shell.main(argv[1:])
    if argv[:1] == ["run"]:
        argv = argv[1:]
    args = parser().parse_args(argv)
    try:
        settings = LakeSettings(accounts=args.accounts, **_given(
            source=args.source, lake=args.lake, regions=args.regions, event_sources=args.event_sources,
            digest_policy=args.digest_policy, digest_signatures=args.digest_signatures, digest_public_keys=args.digest_public_keys))
        days = delivery_days(args.start, args.end, args.days)
    except (SettingsError, ValueError) as exc:
        print(f"error: {_plain(exc)}", file=sys.stderr)
        return 2
    try:
        if args.no_prefect:
            run = run_without_prefect(settings, days, args.workers)
        else:
            if "PREFECT_API_URL" not in os.environ:
                # A temporary server lives only for this run: its own service logs (e.g. a flush
                # racing its shutdown) are noise here, while flow and task logs still show.
                os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
            from flows.flow import route53_lake

            run = route53_lake(start=args.start, end=args.end, days=args.days, settings=settings)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        print(f"error: {explain_failure(exc, settings)}", file=sys.stderr)
        return 1
    for folder in run.folders:
        print(describe(folder))
    print(run.describe())
    print(f"lake: {settings.lake}")
    return 0


def _given(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def _plain(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic: keep only the messages a person can act on
        return "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
    return str(exc)


def explain_failure(exc: BaseException, settings: LakeSettings) -> str:
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError") or "credentials" in str(exc).lower():
        return f"no AWS credentials found for {settings.source} / {settings.lake}: set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run with a role ({name})"
    if isinstance(exc, PermissionError):
        return f"access denied: {exc}. Check the IAM policy (see README, 'Permissions')"
    if isinstance(exc, FileNotFoundError):
        return f"not found: {exc}. Check --source and --lake"
    return f"{name}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
