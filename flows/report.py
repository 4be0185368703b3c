"""What a person sees of a run: the per-day table and the DNS summary, as Prefect artifacts render them."""

from __future__ import annotations

from typing import Any

from flows.pipeline import DaySummary

TABLE_COLUMNS = ("files_listed", "files_rejected", "records_read", "route53_records", "events_written",
                 "record_changes_written", "duplicates_dropped", "records_quarantined", "bytes_read")


def day_rows(day: str, folders: list[DaySummary], seconds: float) -> dict[str, Any]:
    """One row of the run's table: a delivery day, all its folders added up."""
    row: dict[str, Any] = {"delivery_day": day, "folders": len(folders)}
    row.update({name: sum(getattr(f, name) for f in folders) for name in TABLE_COLUMNS})
    row["files_read"] = row["files_listed"]
    row["quarantined"] = row.pop("files_rejected") + row.pop("records_quarantined")
    row["seconds"] = round(seconds, 2)
    return row


def dns_markdown(day: str, digest: dict[str, Any]) -> str:
    """The summary an on-call engineer reads first: changes per zone and action, the actors,
    failed change attempts and deletions."""
    lines = [f"# Route 53 changes delivered {day}", "",
             f"**{digest['changes']}** record change(s) applied, **{digest['deletions']}** deletion(s), "
             f"**{digest['failed_attempts']}** failed write attempt(s).", ""]
    sections = (
        ("Changes per hosted zone", digest["by_zone_action"], ("hosted_zone_id", "action", "changes")),
        ("Who made them", digest["actors"], ("actor", "changes")),
        ("Failed change attempts", digest["failed"], ("event_time", "event_name", "error_code", "actor")),
        ("Deletions", digest["deleted"], ("event_time", "hosted_zone_id", "record", "record_type", "actor")),
    )
    for title, rows, columns in sections:
        lines += [f"## {title}", ""]
        if not rows:
            lines += ["None.", ""]
            continue
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|")
