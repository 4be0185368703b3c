"""The analyst's commands: `latest` (the latest record changes, through DuckDB) and `ddl` (the SQL
that makes the lake queryable in Athena or DuckDB). Arguments are checked before anything is
read; a location with credentials is refused and never printed.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC

from flows.cli.errors import BAD_ARGUMENTS, DONE, FAILED, Parser, debug_traceback, explain_failure, fail, positive_int
from flows.settings import LakeSettings, validate_uri

MAX_LIMIT = 10_000
_DEFAULT_LAKE = LakeSettings.model_fields["lake"].default


NARROW = ("time (UTC)", "action", "record", "type", "value change", "who", "account")
# What gives way to fit the terminal, in this order, each to that many characters: the person last.
SHRINK = (("value change", 24), ("record", 20), ("value change", 12), ("record", 14), ("who", 14),
          ("value change", 8), ("record", 8), ("who", 8))


def latest_main(argv: list[str]) -> int:
    p = Parser(prog="route53-lake latest", description="Print the latest record changes in the lake, newest first: "
               "when (UTC), what, the value before and after, who (the person, else the role) and the account, "
               "in a table as wide as the terminal.")
    p.add_argument("--lake", default=_DEFAULT_LAKE, help="lake root: s3://bucket/prefix or a folder (default: %(default)s)")
    p.add_argument("--limit", type=positive_int(MAX_LIMIT), default=15, help=f"rows to show, 1 to {MAX_LIMIT} (default: %(default)s)")
    p.add_argument("--wide", action="store_true",
                   help="every column, whole: the values sent, TTL, set identifier, the actor's ARN, source IP, result, event id")
    p.add_argument("--debug", action="store_true", help="on failure, also print the traceback")
    args = p.parse_args(argv)
    lake = validate_uri(args.lake, "lake")
    try:
        from flows.query.duckdb_lake import latest_changes

        rows = latest_changes(lake, args.limit, wide=args.wide)
        print(f"Latest record changes in {lake} (DuckDB; times UTC):")
        print(wide_table(rows) if args.wide else narrow_table(rows, terminal_columns()), end="")
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        debug_traceback(args.debug)
        return fail(explain_failure(exc, lake=lake), FAILED)
    return DONE


def terminal_columns() -> int | None:
    """The terminal's width when printing to one; None (whole values) into a pipe or a file."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def narrow_table(relation, columns: int | None) -> str:
    """The latest changes in `columns` characters (None: whole values): the value change says what moved, as the DNS
    summary says it (`weight 10 → 100 (set green)`, `(no change)`), a failed attempt says so."""
    from flows.cli.table import render_table
    from flows.orchestration.report import change_text

    rows = [dict(zip(relation.columns, r, strict=True)) for r in relation.fetchall()]
    shown = [(r["event_time"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
              r["action"] + (f" failed: {r['error_code']}" if r["error_code"] else ""),
              r["record"], r["type"], change_text(r), r["person"] or r["role"] or "(unknown)", r["account_id"])
             for r in rows]
    return render_table(NARROW, shown, fit=columns, shrink=SHRINK)


def wide_table(relation) -> str:
    from flows.cli.table import render_table

    return render_table(relation.columns, relation.fetchall())


def _tables_with_files(engine: str, location: str) -> set[str] | None:
    """For DuckDB and Spark, the lake's tables that hold files yet (a table without one is set up
    empty: a clean lake has no quarantine); None (all) for Athena, or when the lake cannot be listed
    from here (said on stderr). A location that holds no lake raises LakeNotFoundError: a script of
    empty tables for a mistyped lake would look like a quiet week."""
    from flows.query.duckdb_lake import LakeNotFoundError, require_lake, tables_with_files

    if engine == "athena":
        return None
    try:
        require_lake(location, option="--location")
        return tables_with_files(location)
    except LakeNotFoundError:
        raise
    except Exception as error:  # noqa: BLE001 - printing the SQL never needs the lake; a listing is a courtesy
        print(f"note: could not list {location} ({type(error).__name__}); the SQL assumes every table has files",
              file=sys.stderr)
        return None


def ddl_main(argv: list[str]) -> int:
    p = Parser(
        prog="route53-lake ddl",
        description="Print the SQL that makes the lake queryable: Athena tables (partition projection, "
        "no crawler, no MSCK REPAIR) and views, DuckDB views, or Spark SQL tables (then MSCK REPAIR) and views.",
    )
    p.add_argument("--engine", choices=("athena", "duckdb", "spark"), default="athena")
    p.add_argument("--database", default="route53_lake", help="Athena database (default: %(default)s)")
    p.add_argument("--location", default=_DEFAULT_LAKE,
                   help="lake root: s3://bucket/prefix (Athena), a folder or s3:// (DuckDB, Spark: s3a:// for Hadoop's S3A client is the same path)")
    p.add_argument("--projection-start", default="2014-01-01", help="first event_date Athena projects (default: %(default)s)")
    p.add_argument("--debug", action="store_true", help="on failure, also print the traceback")
    args = p.parse_args(argv)
    location = validate_uri(args.location, "location")
    from flows.query.duckdb_lake import LakeNotFoundError, setup_sql

    try:
        sql = setup_sql(args.engine, location, args.database, args.projection_start, _tables_with_files(args.engine, location))
    except LakeNotFoundError as error:  # a mistyped lake: refused as `sql` and `latest` refuse it
        return fail(error, FAILED)
    except ValueError as exc:
        return fail(exc, BAD_ARGUMENTS)
    print(sql, end="")
    return DONE
