"""Parameters of a query: the values of its `params` CTE, set from outside (`route53-lake sql
--param name=value`, `.param name value` at the prompt) without editing the SQL.

A cookbook query declares its parameters once, with defaults relative to today, in a first CTE:

    with params as (
        select cast(current_date - interval '7' day as date) as first_day,   -- a typed default
               cast(null as varchar) as zone                                 -- null: every zone
    )

Setting `first_day=2026-11-01` replaces that default by `cast('2026-11-01' as date)` in the
parsed query (sqlglot): a value is always one string literal, never SQL text, so it cannot change
the query's meaning, and the default's type still applies (DuckDB says so when a value does not
fit it). The same text runs in DuckDB and is spelled for Athena and Spark, parameters set or not.
"""

from __future__ import annotations

import re

import duckdb
import sqlglot
from sqlglot import exp

CTE = "params"
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_HAS_PARAMS = re.compile(rf"\b{CTE}\s*(\([^)]*\))?\s+as\s*\(", re.IGNORECASE)


class ParamError(ValueError):
    """A parameter that cannot be set as given: a malformed assignment, or a name no query declares."""


def assignment(text: str) -> tuple[str, str]:
    """'name=value' -> (name, value); the value may be empty, or hold '=' itself."""
    name, separator, value = text.partition("=")
    name = name.strip().lower()
    if not separator or not _NAME.fullmatch(name):
        raise ParamError(f"parameter {text[:60]!r}: expected name=value, e.g. first_day=2026-11-01")
    return name, value


def _params_cte(tree: exp.Expression) -> exp.Select | None:
    for cte in tree.find_all(exp.CTE):
        if cte.alias_or_name.lower() == CTE and isinstance(cte.this, exp.Select):
            return cte.this
    return None


def declared(statement: str) -> dict[str, str]:
    """The parameters a statement declares, each with its default as DuckDB SQL ({} for none)."""
    if not _HAS_PARAMS.search(statement):
        return {}
    select = _params_cte(sqlglot.parse_one(statement, read="duckdb"))
    if select is None:
        return {}
    return {p.alias_or_name.lower(): (p.this if isinstance(p, exp.Alias) else p).sql("duckdb") for p in select.expressions}


def bind(statement: str, values: dict[str, str]) -> tuple[str, set[str]]:
    """The statement with the `values` of the parameters it declares, and the names it used. A
    statement without a params CTE, or none of these names, comes back as written (comments kept)."""
    if not values or not _HAS_PARAMS.search(statement):
        return statement, set()
    try:
        tree = sqlglot.parse_one(statement, read="duckdb")
    except sqlglot.errors.ParseError as error:
        raise ParamError(f"cannot set parameters in this statement: {str(error).splitlines()[0]}") from None
    select = _params_cte(tree)
    used: set[str] = set()
    for projection in select.expressions if select is not None else []:
        name = projection.alias_or_name.lower()
        if name not in values or not isinstance(projection, exp.Alias):
            continue
        literal = exp.Literal.string(values[name])
        default = projection.this
        projection.set("this", exp.Cast(this=literal, to=default.args["to"].copy()) if isinstance(default, exp.Cast) else literal)
        used.add(name)
    return (tree.sql("duckdb"), used) if used else (statement, set())


def check_used(given: dict[str, str], used: set[str], declared_names: set[str], what: str) -> None:
    """Every parameter given was used: a misspelt name fails instead of quietly leaving a default."""
    unknown = sorted(set(given) - used)
    if unknown:
        takes = f"it takes {', '.join(sorted(declared_names))}" if declared_names else "it declares none (no params CTE)"
        raise ParamError(f"unknown parameter {', '.join(unknown)} for {what}: {takes}")


def statements(sql: str) -> list[str]:
    """The statements of a SQL text, split by DuckDB's own parser (semicolons in strings stay)."""
    return [s.query for s in duckdb.extract_statements(sql)]


def bound(sql: str, params: dict[str, str], strict: bool = False, what: str = "the query") -> list[str]:
    """The statements of `sql` with the parameters each declares set. strict: a parameter no
    statement declares is an error (a command line's --param), not ignored (the prompt's session)."""
    texts, used, names = [], set(), set()
    for statement in statements(sql):
        text, found = bind(statement, params)
        texts.append(text)
        used |= found
        if strict and params:
            names |= set(declared(statement))
    if strict:
        check_used(params, used, names, what)
    return texts
