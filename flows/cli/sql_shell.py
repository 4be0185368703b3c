"""`route53-lake sql`: a DuckDB SQL prompt over the lake, every table and view ready.

    route53-lake sql --lake lake                          # a prompt; end statements with ;
    route53-lake sql --lake lake -c "select * from dns_risk"
    route53-lake sql --lake lake -f sql/cookbook/10_risky_changes.sql --param first_day=2026-11-01 --format csv
    route53-lake sql -f sql/cookbook/10_risky_changes.sql --print-as athena   # spell it, don't run

Times are UTC (the session's TimeZone; `current_date` is the UTC day, as `event_date` is) unless
--local-time. A location that holds no lake is refused, as `latest` refuses it (require_lake).
Results never hide a column, and write lists as JSON (flows/cli/table.py).

Why not the `duckdb` command (pip package duckdb-cli, at 1.5.6): it is a second DuckDB, of another
version than the 2.0.1 the project pins and tests its views with, and it cannot read an s3:// lake
offline (its httpfs extension is downloaded at run time). This shell is the pinned DuckDB through
flows.query.duckdb_lake.connect: the same views the tests run, s3:// through s3fs, nothing to install.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import duckdb

from flows.cli.errors import BAD_ARGUMENTS, DONE, FAILED, Parser, UsageError, cannot_open, debug_traceback, fail
from flows.cli.table import MODES, write
from flows.query.dialects import ENGINES, spell
from flows.query.duckdb_lake import LakeNotFoundError
from flows.query.lake_connection import LakeConnection, retrying
from flows.query.params import ParamError, assignment, bound
from flows.settings import LakeSettings, validate_uri

PROMPT, MORE = "route53-lake> ", "         ...> "
HELP = """Statements end with ';'. Tables: events, record_changes, quarantine, source_files.
Views: events_dedup, record_changes_dedup, callers, api_calls, changes, zone_statements, zone_names,
hosted_zones, record_history, zone_vpc_associations, health_checks, dns_risk, dns_risk_rules; Route 53 Resolver
and DNS Firewall: resolver_rules, resolver_endpoints, firewall_rules, firewall_rule_group_associations,
firewall_changes. Macro: dns_name('app.example.com') = 'app.example.com.'.
The cookbook is in sql/cookbook/ (.read FILE runs one; .param sets its parameters).
Commands: .tables  .read FILE  .param [NAME [VALUE]]  .mode [table|csv|json|line]
          .width [N]  .maxrows [N]  .timezone  .help  .quit"""
# A DNS name typed without its trailing dot, compared with a name column: it matches nothing.
_UNDOTTED_NAME = re.compile(r"\b(\w*name\w*|zone)\s*=\s*'([^'\s]*\.[^'\s.]+)'", re.IGNORECASE)


@dataclass
class Session:
    """How results print and which parameters apply: set by options, changed at the prompt."""

    mode: str = "table"
    width: int | None = None  # characters per column at most (None: whole values)
    maxrows: int | None = None  # rows shown in table and line modes (None: all)
    params: dict[str, str] = field(default_factory=dict)


def parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="route53-lake sql",
        description="Query the lake with SQL (DuckDB): a prompt, or one query with -c or -f. Every table and view "
        "(api_calls, changes, hosted_zones, record_history, dns_risk, ...) is ready. Times are UTC.",
        epilog="Exit status: 0 done, 1 a statement failed or no lake is there, 2 bad arguments.",
    )
    p.add_argument("--lake", default=LakeSettings().lake, help="lake root: a folder or s3://bucket/prefix (default: %(default)s)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("-c", "--command", help="run this SQL and exit")
    source.add_argument("-f", "--file", type=Path, help="run the SQL in this file and exit (e.g. a cookbook query)")
    p.add_argument("--format", choices=MODES, default="table",
                   help="how results print: aligned table (every column), CSV with a header (lists as JSON arrays), "
                   "one JSON object a line, or one 'column = value' line per value (default: %(default)s)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter of the query's params CTE (cookbook queries; repeatable), e.g. first_day=2026-11-01")
    p.add_argument("--local-time", action="store_true",
                   help="show times in this machine's time zone, and let current_date follow it (default: UTC)")
    p.add_argument("--print-as", choices=ENGINES, help="print the SQL of -c or -f spelled for this engine, and do not run it")
    p.add_argument("--debug", action="store_true", help="on failure, also print the traceback")
    return p


def show(relation: duckdb.DuckDBPyRelation | None, session: Session | str, out: TextIO, statement: str = "") -> None:
    session = Session(mode=session) if isinstance(session, str) else session
    if relation is None or not relation.columns:  # a statement with no result (create view, set, ...)
        return
    rows = relation.fetchall()
    write(relation.columns, rows, session.mode, out, width=session.width, maxrows=session.maxrows)
    undotted = _UNDOTTED_NAME.search(statement)
    if not rows and undotted:
        note = (f"note: no rows. DNS names in the lake end with a dot: '{undotted[2]}.' "
                f"(or dns_name('{undotted[2]}'), which adds it and lower-cases)\n")
        (out if session.mode in ("table", "line") else sys.stderr).write(note)


def run(con: LakeConnection | duckdb.DuckDBPyConnection, sql: str, session: Session | str, out: TextIO,
        strict: bool = False, what: str = "the query") -> None:
    """Every statement in order, each result printed; a failing statement raises duckdb.Error.
    A statement that read a file while a run replaced it is run again (its output is printed
    once, whole): a failed statement changed nothing, DuckDB rolls it back."""
    session = Session(mode=session) if isinstance(session, str) else session
    for statement in bound(sql, session.params, strict, what):
        out.write(retrying(lambda statement=statement: _shown(con, statement, session)))


def _shown(con: LakeConnection | duckdb.DuckDBPyConnection, statement: str, session: Session) -> str:
    buffer = io.StringIO()
    show(con.sql(statement), session, buffer, statement)
    return buffer.getvalue()


def repl(con: LakeConnection | duckdb.DuckDBPyConnection, lines: Iterable[str], out: TextIO, fmt: str = "table",
         prompt: bool = True, session: Session | None = None, banner: str = "") -> int:
    """The prompt: lines are gathered until a statement ends with ';'. An error is printed and the
    prompt goes on. Returns the number of statements that failed."""
    session = session or Session(mode=fmt)
    failed, buffer = 0, []
    if prompt:
        out.write(f"{banner or 'Connected to the lake.'} {HELP}\n{PROMPT}")
        out.flush()
    for line in lines:
        text = line.strip()
        if not buffer and text.startswith("."):
            command, _, argument = text.partition(" ")
            if command in (".quit", ".exit"):
                break
            failed += dot_command(con, command, argument.strip(), session, out)
        elif text:
            buffer.append(line.rstrip("\n"))
            if text.endswith(";"):
                failed += _attempt(con, "\n".join(buffer), session, out)
                buffer = []
        if prompt:
            out.write(MORE if buffer else PROMPT)
            out.flush()
    if buffer:
        failed += _attempt(con, "\n".join(buffer), session, out)
    return failed


def dot_command(con, command: str, argument: str, session: Session, out: TextIO) -> int:
    """One of the prompt's commands (HELP lists them); returns 1 if it failed."""
    if command == ".tables":
        return _attempt(con, "select table_name, table_type from information_schema.tables order by table_type, table_name", session, out)
    if command == ".read" and argument:
        try:
            sql = Path(argument).read_text()
        except OSError as error:
            out.write(f"error: {error}\n")
            return 1
        return _attempt(con, sql, session, out)
    if command == ".timezone":
        return _attempt(con, "select current_setting('TimeZone') as time_zone, current_date as today", session, out)
    settings = {".mode": _set_mode, ".width": _set_width, ".maxrows": _set_maxrows, ".param": _set_param, ".params": _set_param}
    if command not in settings:
        out.write(HELP + "\n")
        return 0
    try:
        out.write(settings[command](session, argument) + "\n")
    except ValueError as error:
        out.write(f"error: {error}\n")
        return 1
    return 0


def _set_mode(session: Session, argument: str) -> str:
    if argument:
        if argument not in MODES:
            raise ValueError(f".mode {argument}: expected one of {', '.join(MODES)}")
        session.mode = argument
    return f"mode: {session.mode}"


def _count(argument: str, what: str) -> int | None:
    if not argument.isdigit():
        raise ValueError(f"{what} {argument[:20]}: expected a whole number (0: no limit)")
    return int(argument) or None


def _set_width(session: Session, argument: str) -> str:
    if argument:
        session.width = _count(argument, ".width")
    return f"width: {session.width or 'whole values'} (characters per column)"


def _set_maxrows(session: Session, argument: str) -> str:
    if argument:
        session.maxrows = _count(argument, ".maxrows")
    return f"maxrows: {session.maxrows or 'all'} (rows shown in table and line modes)"


def _set_param(session: Session, argument: str) -> str:
    """`.param` lists, `.param NAME VALUE` (or NAME=VALUE) sets, `.param NAME` unsets."""
    head, _, rest = argument.partition(" ")
    name, _, value = head.partition("=") if "=" in head else (head, "", rest.strip())
    if name and value:
        name, value = assignment(f"{name}={value.strip()}")
        session.params[name] = value
    elif name:
        session.params.pop(name.lower(), None)
    shown = ", ".join(f"{k}={v}" for k, v in sorted(session.params.items())) or "none (each query's defaults apply)"
    return f"parameters: {shown}"


def _attempt(con, sql: str, session: Session, out: TextIO) -> int:
    try:
        run(con, sql, session, out)
        return 0
    except (duckdb.Error, OSError, ParamError) as error:
        out.write(f"error: {error}\n")
        return 1


def _lines() -> Iterable[str]:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - line editing and history at the prompt, where the platform has it
    while True:
        try:
            yield input() + "\n"
        except EOFError:
            return


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        params = dict(assignment(p) for p in args.param)
    except ParamError as error:
        raise UsageError(str(error)) from None
    query = args.command if args.command is not None else (args.file.read_text() if args.file else None)
    what = str(args.file) if args.file else "-c"
    if args.print_as:
        if query is None:
            raise UsageError("--print-as needs -c or -f (see route53-lake sql --help)")
        try:
            print(";\n".join(spell(s, args.print_as, pretty=True) for s in bound(query, params, True, what)) + ";")
        except ParamError as error:
            return fail(error, BAD_ARGUMENTS)
        return DONE
    lake = validate_uri(args.lake, "lake")
    try:
        con = _open(lake, args.local_time)
    except LakeNotFoundError as error:  # a mistyped lake: refused as `latest` refuses it
        return fail(error, FAILED)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        debug_traceback(args.debug)
        return fail(cannot_open(exc, lake), BAD_ARGUMENTS)  # one line: what is missing (credentials, a bucket)
    session = Session(mode=args.format, params=params)
    if query is not None:
        try:
            run(con, query, session, sys.stdout, strict=True, what=what)
        except ParamError as error:
            return fail(error, BAD_ARGUMENTS)
        except (duckdb.Error, OSError) as error:
            return fail(error, FAILED)
        return DONE
    interactive = sys.stdin.isatty()
    banner = _banner(con, lake) if interactive else ""
    failed = repl(con, _lines() if interactive else sys.stdin, sys.stdout, prompt=interactive, session=session, banner=banner)
    return FAILED if failed and not interactive else DONE


def _open(lake: str, local_time: bool) -> LakeConnection:
    from flows.query.duckdb_lake import connect, require_lake

    require_lake(lake)
    return connect(lake, time_zone=None if local_time else "UTC")


def _banner(con, lake: str) -> str:
    zone = con.execute("select current_setting('TimeZone')").fetchone()[0]
    times = ("Times are UTC, as event_date is; current_date is today in UTC (--local-time for this machine's zone)."
             if zone == "UTC" else f"Times are in {zone} (--local-time); event_date stays the UTC day.")
    return f"Connected to the lake {lake}. {times}"
