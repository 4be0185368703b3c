"""The Route 53 columns as both readers see them, compiled once from schemas/tables.py.

schemas/tables.py gives each column read from a record its CloudTrail path and how it is read;
here those declarations become Fields (the object the value sits in, its key, its kind), grouped
by the nested objects ("scopes") that hold them. The lenient reader (reference.py) and the strict
one (strict.py) both walk these, so a column is added by one line in schemas/tables.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.tables import BIGINT, BOOL, DERIVED, DOUBLE, EVENTS, IN_FULL, RECORD_CHANGES, STRING, STRINGS, TIMESTAMP, Column

# The kinds of value a column holds, by its Arrow type.
_KINDS = {STRING: "text", BOOL: "flag", BIGINT: "integer", DOUBLE: "number", TIMESTAMP: "time", STRINGS: "strings"}


@dataclass(frozen=True)
class Field:
    """A column read from a record (or from one change of its batch).

    scope: the dotted path of the object that holds the key ("" for the record or the change
    itself); in_json: the value sits inside a field kept whole as JSON text (requestParameters,
    responseElements), so the readers find it in that JSON rather than in the record's shape."""

    column: str
    scope: str
    key: str
    kind: str
    read: str
    in_json: bool


def _field(column: Column, json_roots: frozenset[str]) -> Field:
    scope, _, key = (column.path or "").rpartition(".")
    root = (column.path or "").split(".")[0]
    return Field(column.name, scope, key, _KINDS[column.type], column.read, in_json=bool(scope) and root in json_roots)


def _read_columns(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    return tuple(c for c in columns if c.path is not None or c.read == DERIVED)


JSON_ROOTS = frozenset(c.path for c in EVENTS.columns if c.read == IN_FULL and c.path)
EVENT_FIELDS = tuple(_field(c, JSON_ROOTS) for c in _read_columns(EVENTS.columns))

# A record_changes column declared as an events column (the same declaration) is its event's value.
FROM_EVENT = tuple(c.name for c in RECORD_CHANGES.columns if any(c is e for e in EVENTS.columns))
CHANGE_FIELDS = tuple(_field(c, frozenset()) for c in _read_columns(RECORD_CHANGES.columns) if c.name not in FROM_EVENT)


def scopes_of(fields: tuple[Field, ...], *, in_json: bool = False) -> tuple[str, ...]:
    """Every object the fields are read from (their parents too), parents first, in the order
    the schema first names them; "" (the record or change itself) not included."""
    found: dict[str, None] = {}
    for f in fields:
        if f.in_json != in_json or not f.scope:
            continue
        parts = f.scope.split(".")
        for depth in range(1, len(parts) + 1):
            found.setdefault(".".join(parts[:depth]))
    return tuple(found)


def split(path: str) -> tuple[str, str]:
    """'a.b.c' -> ('a.b', 'c'); 'a' -> ('', 'a')."""
    parent, _, key = path.rpartition(".")
    return parent, key

