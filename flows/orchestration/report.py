"""What a person sees of a run: the per-day table and the DNS summary, as Prefect artifacts render them."""

from __future__ import annotations

from typing import Any

from flows.results import DaySummary

TABLE_COLUMNS = ("files_listed", "files_rejected", "records_read", "route53_records", "events_written",
                 "record_changes_written", "duplicates_dropped", "records_quarantined", "bytes_read")
CELL = 28  # characters per table cell: a summary must fit a laptop screen, not run off the page
ITEM = 60  # characters per part of a list item: a list wraps where a table would scroll
LONG = {"detail": 120, "change": 120}  # the parts that say what happened get more


def day_rows(day: str, folders: list[DaySummary], seconds: float) -> dict[str, Any]:
    """One row of the run's table: a delivery day, all its folders added up. One vocabulary with
    the log lines: files_rejected (whole files) and records_quarantined (single records); until
    2026-12-01 a column `quarantined` added the two up."""
    row: dict[str, Any] = {"delivery_day": day, "folders": len(folders)}
    row.update({name: sum(getattr(f, name) for f in folders) for name in TABLE_COLUMNS})
    row["files_read"] = row["files_listed"]
    row["seconds"] = round(seconds, 2)
    return row


def dns_markdown(summary: dict[str, Any], lake: str, notes: list[str] = ()) -> str:
    """The page an on-call engineer reads first, for one event date: the totals, what was flagged
    risky (the lake's dns_risk view), changes per zone, who made them (person and role), what
    changed with before and after, failed attempts, then the data-quality notes of the run.

    Narrow tables stay tables; the sections that say what happened are lists, one line per item,
    which wrap on a narrow page where a table of long values would need scrolling sideways."""
    day = summary["event_date"]
    risky = summary["risky"]["total"]
    lines = [f"# Route 53 changes on {day}", "",
             f"Lake `{lake}`; event date {day} (UTC), as the lake holds it now.", "",
             f"**{summary['changes']}** record change(s) applied, **{summary['deletions']}** deletion(s), "
             f"**{summary['failed_attempts']}** failed write attempt(s), **{risky}** flagged risky.", ""]
    sections = (
        ("Flagged risky (dns_risk)", summary["risky"], items, ("severity", "rule", "record", "detail", "who")),
        ("Changes per hosted zone", summary["by_zone"], table, ("zone", "created", "upserted", "deleted")),
        ("Who made them", summary["who"], table, ("person", "role", "changes")),
        ("What changed", summary["changed"], items, ("time", "action", "type", "record", "change", "who")),
        ("Failed change attempts", summary["failed"], items, ("time", "call", "error", "zone", "who")),
    )
    for title, part, render, columns in sections:
        lines += [f"## {title}", "", *render(part["rows"], columns), *more(part["rows"], part["total"]), ""]
    lines += ["## Data quality", "", *([f"- {n}" for n in notes] or ["Nothing to report for this run."]), ""]
    return "\n".join(lines)


def table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[str]:
    """A markdown table with short cells."""
    if not rows:
        return ["None."]
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return out + ["| " + " | ".join(cell(shown(row, c)) for c in columns) + " |" for row in rows]


def items(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[str]:
    """A markdown list, one row per item, its parts in `columns` order: the first bold, the names
    of records and zones as code (an underscore in `_dmarc.example.com.` is not emphasis)."""
    if not rows:
        return ["None."]
    out = []
    for row in rows:
        parts = [(c, clip(shown(row, c), LONG.get(c, ITEM))) for c in columns]
        text = [code(v) if c in ("record", "zone") else escape(v) for c, v in parts if v]
        if text and parts[0][1]:
            text[0] = f"**{text[0]}**"
        out.append("- " + " · ".join(text))
    return out


def more(rows: list[dict[str, Any]], total: int) -> list[str]:
    """ "and N more" when a list or table shows fewer rows than the lake holds."""
    if total > len(rows):
        return ["", f"... and {total - len(rows)} more (query the lake: `route53-lake sql --lake LAKE`)."]
    return []


def shown(row: dict[str, Any], column: str) -> Any:
    """A row's value for a column; `who` is the person when known, else the role; `change` is
    before → after (a CREATE has no before, a DELETE no after)."""
    if column == "who":
        return row.get("person") or row.get("role")
    if column == "change":
        before, after = row.get("before"), row.get("after")
        ttl = (f"TTL {row['before_ttl']} → {row['after_ttl']}; " if None not in (row.get("before_ttl"), row.get("after_ttl"))
               and row["before_ttl"] != row["after_ttl"] else "")  # first: a cut cell keeps it
        return f"{ttl}{before or '(none)'} → {after or '(none)'}" if before is not None or after is not None else ""
    return row.get(column)


def cell(value: Any, width: int = CELL) -> str:
    return escape(clip(value, width))


def clip(value: Any, width: int) -> str:
    """A value on one line (no newline may break a table row or a list item), cut to `width`."""
    text = " ".join(("" if value is None else str(value)).split())
    return text[: width - 1] + "…" if len(text) > width else text


def code(text: str) -> str:
    """A name as inline code: shown as it is (a wildcard's `*` stays), no backtick can end it early."""
    return "`" + text.replace("`", "'") + "`"


def escape(text: str) -> str:
    """Plain text in markdown: no pipe ends a cell, no asterisk, underscore, backtick, bracket or
    angle bracket turns a value into emphasis, code, a link or HTML."""
    for char in "\\|*_`[]<>":
        text = text.replace(char, "\\" + char)
    return text
