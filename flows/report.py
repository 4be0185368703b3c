"""What a person sees of a run: the per-day table and the DNS summary, as Prefect artifacts render them."""

from __future__ import annotations

from typing import Any

from flows.pipeline import DaySummary

TABLE_COLUMNS = ("files_listed", "files_rejected", "records_read", "route53_records", "events_written",
                 "record_changes_written", "duplicates_dropped", "records_quarantined", "bytes_read")
CELL = 28  # characters per table cell: a summary must fit a laptop screen, not run off the page
WIDE = {"detail": 40, "change": 48}  # the columns that say what happened get more


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
    changed with before and after, failed attempts, then the data-quality notes of the run."""
    day = summary["event_date"]
    risky = summary["risky"]["total"]
    lines = [f"# Route 53 changes on {day}", "",
             f"Lake `{lake}`; event date {day} (UTC), as the lake holds it now.", "",
             f"**{summary['changes']}** record change(s) applied, **{summary['deletions']}** deletion(s), "
             f"**{summary['failed_attempts']}** failed write attempt(s), **{risky}** flagged risky.", ""]
    sections = (
        ("Flagged risky (dns_risk)", summary["risky"], ("severity", "rule", "record", "detail", "who")),
        ("Changes per hosted zone", summary["by_zone"], ("zone", "created", "upserted", "deleted")),
        ("Who made them", summary["who"], ("person", "role", "changes")),
        ("What changed", summary["changed"], ("time", "record", "type", "action", "change", "who")),
        ("Failed change attempts", summary["failed"], ("time", "call", "error", "zone", "who")),
    )
    for title, part, columns in sections:
        lines += [f"## {title}", "", *table(part["rows"], columns, part["total"]), ""]
    lines += ["## Data quality", "", *([f"- {n}" for n in notes] or ["Nothing to report for this run."]), ""]
    return "\n".join(lines)


def table(rows: list[dict[str, Any]], columns: tuple[str, ...], total: int | None = None) -> list[str]:
    """A markdown table with short cells, and "and N more" when `total` exceeds the rows shown."""
    if not rows:
        return ["None."]
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(cell(shown(row, c), WIDE.get(c, CELL)) for c in columns) + " |" for row in rows]
    if total is not None and total > len(rows):
        out += ["", f"... and {total - len(rows)} more (query the lake: `route53-lake sql --lake LAKE`)."]
    return out


def shown(row: dict[str, Any], column: str) -> Any:
    """A row's value for a column; `who` is the person when known, else the role; `change` is
    before -> after (a CREATE has no before, a DELETE no after)."""
    if column == "who":
        return row.get("person") or row.get("role")
    if column == "change":
        before, after = row.get("before"), row.get("after")
        ttl = (f"TTL {row['before_ttl']} -> {row['after_ttl']}; " if None not in (row.get("before_ttl"), row.get("after_ttl"))
               and row["before_ttl"] != row["after_ttl"] else "")  # first: a cut cell keeps it
        return f"{ttl}{before or '(none)'} -> {after or '(none)'}" if before is not None or after is not None else ""
    return row.get(column)


def cell(value: Any, width: int = CELL) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())  # no newline may break a table row
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.replace("|", "\\|")
