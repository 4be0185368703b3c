"""Query results as a person reads them, without mangling data: every column shown (none hidden to
fit a width), lists and structs as JSON (never Python's repr), times as ISO text. Used by `latest`
and by the `sql` command and prompt (modes table, csv, json, line; .width, .maxrows).
"""

from __future__ import annotations

import csv
import datetime
import decimal
import json
from collections.abc import Sequence
from typing import Any, TextIO

MODES = ("table", "csv", "json", "line")
MIN_CLIPPED = 8  # a column fitted to the terminal keeps at least this many characters
GAP = "  "


def jsonable(value: Any) -> Any:
    """A value json.dumps can write as the data it is: times and dates as ISO text, decimals as numbers."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def as_json(value: Any) -> str:
    return json.dumps(value, default=jsonable, ensure_ascii=False)


def cell_text(value: Any, null: str = "NULL") -> str:
    """One value as text in a table, CSV or line: a list or struct as a JSON array or object
    (`["192.0.2.10", "192.0.2.11"]`), a time as ISO text, nothing else changed."""
    if value is None:
        return null
    if isinstance(value, list | tuple | dict):
        return as_json(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time | decimal.Decimal):
        return jsonable(value)
    return str(value)


def clip(text: str, width: int | None) -> str:
    """Text on one line, cut to `width` characters with '…' when a width is given."""
    text = " ".join(text.splitlines()) if "\n" in text or "\r" in text else text
    return text[: width - 1] + "…" if width and len(text) > width else text


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int | None = None,
                 fit: int | None = None, shrink: Sequence[tuple[str, int]] = ()) -> str:
    """Aligned columns under a header: every column, every given row. `width` caps each column;
    `fit` is the line length to fit, by cutting the columns of `shrink` in its order, each down to
    its floor (a column may appear again with a lower floor); numbers align right."""
    texts = [[clip(cell_text(v), width) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in texts)]) for i, c in enumerate(columns)]
    if width:
        widths = [min(w, max(width, 1)) for w in widths]
    if fit:
        widths = _fitted(list(columns), widths, fit, shrink)
    numeric = [bool(rows) and all(isinstance(r[i], int | float | decimal.Decimal) and not isinstance(r[i], bool)
                                  for r in rows if r[i] is not None) and any(r[i] is not None for r in rows)
               for i in range(len(columns))]
    lines = [GAP.join(clip(c, w).ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
             GAP.join("-" * w for w in widths)]
    for row in texts:
        cells = [clip(t, w).rjust(w) if right else clip(t, w).ljust(w)
                 for t, w, right in zip(row, widths, numeric, strict=True)]
        lines.append(GAP.join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _fitted(columns: list[str], widths: list[int], fit: int, shrink: Sequence[tuple[str, int]]) -> list[int]:
    widths = list(widths)
    for column, floor in shrink:
        excess = sum(widths) + len(GAP) * (len(widths) - 1) - fit
        if excess <= 0:
            break
        if column in columns:
            i = columns.index(column)
            widths[i] = max(min(widths[i], max(floor, MIN_CLIPPED)), widths[i] - excess)
    return widths


def render_lines(columns: Sequence[str], rows: Sequence[Sequence[Any]], width: int | None = None) -> str:
    """One `column = value` line per value, a blank line between rows: a wide row read down the page."""
    pad = max((len(c) for c in columns), default=0)
    blocks = ["\n".join(f"{c.rjust(pad)} = {clip(cell_text(v), width)}" for c, v in zip(columns, row, strict=True))
              for row in rows]
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def write(columns: Sequence[str], rows: Sequence[Sequence[Any]], mode: str, out: TextIO, *,
          width: int | None = None, maxrows: int | None = None) -> None:
    """Rows in one of MODES. csv and json write every row, whole; table and line stop after
    `maxrows` rows (0 or None: all) and say how many more there were."""
    if mode == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell_text(v, null="") for v in row] for row in rows)
        return
    if mode == "json":
        for row in rows:
            out.write(as_json(dict(zip(columns, row, strict=True))) + "\n")
        return
    shown = rows[:maxrows] if maxrows else rows
    out.write(render_lines(columns, shown, width) if mode == "line" else render_table(columns, shown, width=width))
    hidden = len(rows) - len(shown)
    count = f"({len(rows)} row{'s' if len(rows) != 1 else ''}"
    out.write(f"{count}; {len(shown)} shown, .maxrows 0 shows all)\n" if hidden else f"{count})\n")
