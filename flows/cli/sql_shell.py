"""`route53-lake sql`: a DuckDB SQL prompt over the lake, every table and view ready.

    route53-lake sql --lake lake                          # a prompt; end statements with ;
    route53-lake sql --lake lake -c "select * from dns_risk"
    route53-lake sql --lake lake -f sql/cookbook/10_risky_changes.sql --format csv
    route53-lake sql -f sql/cookbook/10_risky_changes.sql --print-as athena   # spell it, don't run

Why not the `duckdb` command (pip package duckdb-cli, at 1.5.6): it is a second DuckDB, of another
version than the 2.0.1 the project pins and tests its views with, and it cannot read an s3:// lake
offline (its httpfs extension is downloaded at run time). This shell is the pinned DuckDB through
flows.query.duckdb_lake.connect: the same views the tests run, s3:// through s3fs, nothing to install.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import duckdb

from flows.cli.errors import BAD_ARGUMENTS, cannot_open, fail
from flows.query.dialects import ENGINES, spell
from flows.query.lake_connection import LakeConnection, retrying
from flows.settings import LakeSettings

PROMPT, MORE = "route53-lake> ", "         ...> "
HELP = """Statements end with ';'. Tables: events, record_changes, quarantine, source_files.
Views: events_dedup, record_changes_dedup, api_calls, changes, zone_names, hosted_zones,
record_history, dns_risk, dns_risk_rules. The cookbook is in sql/cookbook/ (.read FILE runs one).
Commands: .tables  .read FILE  .help  .quit"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="route53-lake sql",
        description="Query the lake with SQL (DuckDB): a prompt, or one query with -c or -f. Every table and view "
        "(api_calls, changes, hosted_zones, record_history, dns_risk, ...) is ready.",
        epilog="Exit status: 0 done, 1 a statement failed, 2 bad arguments.",
    )
    p.add_argument("--lake", default=LakeSettings().lake, help="lake root: a folder or s3://bucket/prefix (default: %(default)s)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("-c", "--command", help="run this SQL and exit")
    source.add_argument("-f", "--file", type=Path, help="run the SQL in this file and exit (e.g. a cookbook query)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="how results print: boxed table, CSV with a header, or one JSON object a line (default: %(default)s)")
    p.add_argument("--print-as", choices=ENGINES, help="print the SQL of -c or -f spelled for this engine, and do not run it")
    return p


def statements(sql: str) -> list[str]:
    """The statements of a SQL text, split by DuckDB's own parser (semicolons in strings stay)."""
    return [s.query for s in duckdb.extract_statements(sql)]


def show(relation: duckdb.DuckDBPyRelation | None, fmt: str, out: TextIO) -> None:
    if relation is None:  # a statement with no result (create view, set, ...)
        return
    if fmt == "table":
        out.write(relation.__str__() if relation.columns else "")
        return
    rows = relation.fetchall()
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(relation.columns)
        writer.writerows(rows)
    else:
        for row in rows:
            out.write(json.dumps(dict(zip(relation.columns, row, strict=True)), default=str) + "\n")


def run(con: LakeConnection | duckdb.DuckDBPyConnection, sql: str, fmt: str, out: TextIO) -> None:
    """Every statement in order, each result printed; a failing statement raises duckdb.Error.
    A statement that read a file while a run replaced it is run again (its output is printed
    once, whole): a failed statement changed nothing, DuckDB rolls it back."""
    for statement in statements(sql):
        out.write(retrying(lambda statement=statement: _shown(con, statement, fmt)))


def _shown(con: LakeConnection | duckdb.DuckDBPyConnection, statement: str, fmt: str) -> str:
    buffer = io.StringIO()
    show(con.sql(statement), fmt, buffer)
    return buffer.getvalue()


def repl(con: LakeConnection | duckdb.DuckDBPyConnection, lines: Iterable[str], out: TextIO, fmt: str = "table", prompt: bool = True) -> int:
    """The prompt: lines are gathered until a statement ends with ';'. An error is printed and the
    prompt goes on. Returns the number of statements that failed."""
    failed, buffer = 0, []
    if prompt:
        out.write(f"Connected to the lake. {HELP}\n{PROMPT}")
        out.flush()
    for line in lines:
        text = line.strip()
        if not buffer and text.startswith("."):
            command, _, argument = text.partition(" ")
            if command in (".quit", ".exit"):
                break
            sql = {".tables": "select table_name, table_type from information_schema.tables order by table_type, table_name"}.get(command)
            if command == ".read" and argument:
                sql = Path(argument).read_text()
            if command == ".help" or sql is None:
                out.write(HELP + "\n")
            else:
                failed += _attempt(con, sql, fmt, out)
        elif text:
            buffer.append(line.rstrip("\n"))
            if text.endswith(";"):
                failed += _attempt(con, "\n".join(buffer), fmt, out)
                buffer = []
        if prompt:
            out.write(MORE if buffer else PROMPT)
            out.flush()
    if buffer:
        failed += _attempt(con, "\n".join(buffer), fmt, out)
    return failed


def _attempt(con: LakeConnection | duckdb.DuckDBPyConnection, sql: str, fmt: str, out: TextIO) -> int:
    try:
        run(con, sql, fmt, out)
        return 0
    except (duckdb.Error, OSError) as error:
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
    if args.print_as:
        if not (args.command or args.file):
            print("error: --print-as needs -c or -f", file=sys.stderr)
            return 2
        print(spell(args.command or args.file.read_text(), args.print_as, pretty=True) + ";")
        return 0
    from flows.query.duckdb_lake import connect

    try:
        con = connect(args.lake)
    except (duckdb.Error, OSError, ValueError) as error:
        return fail(cannot_open(error, args.lake), BAD_ARGUMENTS)  # one line: what is missing, no traceback
    if args.command or args.file:
        try:
            run(con, args.command or args.file.read_text(), args.format, sys.stdout)
        except (duckdb.Error, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    interactive = sys.stdin.isatty()
    lines = _lines() if interactive else sys.stdin
    return 1 if repl(con, lines, sys.stdout, args.format, prompt=interactive) and not interactive else 0
