"""One SQL source, three spellings. Every view and cookbook query is written once, in DuckDB's
dialect; sqlglot spells it for Athena (Trino) and for Spark SQL. Where sqlglot cannot say a
construct in the other engine it raises (unsupported_level=RAISE), and the source SQL is written
so that it can: e.g. a JSON array is read by position (`'$.a[' || i || '].b'` over a series),
never by casting JSON to an array, which only Trino spells.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot.errors import ErrorLevel

ENGINES = ("duckdb", "athena", "spark")
SOURCE_DIALECT = "duckdb"
SQL = Path(__file__).resolve().parents[2] / "sql"  # views/ and cookbook/, in SOURCE_DIALECT


def view_sql(name: str, engine: str = "duckdb") -> str:
    """The view sql/views/<name>.sql in `engine`'s spelling."""
    return spell((SQL / "views" / f"{name}.sql").read_text(), engine)


def spell(sql: str, engine: str, *, pretty: bool = False) -> str:
    """The statements of `sql` (DuckDB dialect) in `engine`'s spelling, separated by ';\\n'.
    DuckDB gets the source back unchanged (comments included)."""
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if engine == SOURCE_DIALECT:
        return sql.strip().rstrip(";")
    statements = sqlglot.transpile(sql, read=SOURCE_DIALECT, write=engine, pretty=pretty,
                                   unsupported_level=ErrorLevel.RAISE)
    return ";\n".join(s for s in statements if s.strip())
