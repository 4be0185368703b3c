"""The columns copied off decoded Structs (strict.py), read a column at a time by code written out
at import from the declarations: one list comprehension per column, over the objects of its scope.

Written out rather than looped over with getattr because a comprehension over a literal attribute
(`[o.tlsVersion for o in scope_1]`) is what CPython runs fastest: this is the hot loop of a day.
`source(...)` is the text, kept readable for anyone debugging a column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.tables import DERIVED, IDENTIFIES, UPPER, VALUES, ZONE_ID
from transforms.route53 import derived, strict
from transforms.route53.columns import CHANGE_FIELDS, EVENT_FIELDS, Field, split
from transforms.route53.names import strip_prefix
from transforms.route53.strict import CHANGE_STRUCTS, EMPTY, EVENT_STRUCTS


def _item(f: Field) -> str:
    """Python for the column's value of one object `o` of its scope."""
    value = f"o.{f.key}"
    if f.read == IDENTIFIES and f.column == "event_source":
        return f"{value}.lower()"
    if f.read == UPPER:
        return f"({value}.upper() if {value} else None)"
    if f.read == ZONE_ID:
        return f"strip_prefix({value}, '/hostedzone/')"
    if f.read == VALUES:
        return f"values_of({value})"
    return value


def source(name: str, fields: tuple[Field, ...], structs: dict[str, type]) -> tuple[str, dict[str, Any]]:
    """The text of a function `name(roots) -> {column: values}` and the names it uses. A column is
    None where no root has its object at all (most records have no addendum): it is all null."""
    names: dict[str, Any] = {"strip_prefix": strip_prefix, "values_of": strict.values_of}
    lines = [f"def {name}(roots):", "    columns = {}"]
    scopes = {"": "roots"}
    for i, scope in enumerate(sorted((s for s in structs if s), key=lambda s: s.count(".")), start=1):
        parent, key = split(scope)
        above, names[f"empty_{i}"], scopes[scope] = scopes[parent], EMPTY[structs[scope]], f"scope_{i}"
        lines += [f"    values = None if {above} is None else [o.{key} for o in {above}]",
                  f"    scope_{i} = [v or empty_{i} for v in values] if values is not None and any(values) else None  # a Struct is true"]
    for f in fields:
        if f.read == DERIVED:
            from_column, names[f"derived_{f.column}"] = derived.CHANGE_DERIVED[f.column]
            lines.append(f"    columns[{f.column!r}] = list(map(derived_{f.column}, columns[{from_column!r}] or [None] * len(roots)))")
        else:
            objects = scopes[f.scope]
            lines.append(f"    columns[{f.column!r}] = None if {objects} is None else [{_item(f)} for o in {objects}]")
    return "\n".join([*lines, "    return columns"]) + "\n", names


def _compile(name: str, fields: tuple[Field, ...], structs: dict[str, type]) -> Callable[[list[Any]], dict[str, Any]]:
    text, names = source(name, fields, structs)
    exec(compile(text, f"<transforms.route53.columnwise.{name}>", "exec"), names)  # noqa: S102 - our own text
    return names[name]


COPIED = tuple(f for f in EVENT_FIELDS if strict.is_copied(f))
events = _compile("events", COPIED, EVENT_STRUCTS)
changes = _compile("changes", CHANGE_FIELDS, CHANGE_STRUCTS)

assert all(strict.is_copied(f) or f.read == DERIVED for f in CHANGE_FIELDS), "a change column that needs converting"
assert all(f.key.isidentifier() for f in (*EVENT_FIELDS, *CHANGE_FIELDS) if f.key), "a CloudTrail key that is no attribute name"
