"""What a person sees of a run: the per-day table and the DNS summary, as Prefect artifacts render them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flows.results import SUMMARY_LISTS, DaySummary, RunSummary
from schemas.tables import ROUTING

TABLE_COLUMNS = ("files_listed", "files_rejected", "records_read", "route53_records", "events_written",
                 "record_changes_written", "duplicates_dropped", "records_quarantined", "bytes_read")
CELL = 28  # characters per table cell: a summary must fit a laptop screen, not run off the page
ITEM = 60  # characters per part of a list item: a list wraps where a table would scroll
LONG = {"detail": 120, "change": 120}  # the parts that say what happened get more
MAX_NOTES = 12  # data-quality notes on a page; the rest are counted
CAUSE = 640  # characters of a failed part's cause (banner, backfill table): an error naming two absolute paths stays whole


def day_rows(day: str, folders: list[DaySummary], seconds: float) -> dict[str, Any]:
    """One row of the run's table: a delivery day, all its folders added up. One vocabulary with
    the log lines: files_rejected (whole files) and records_quarantined (single records); until
    2026-12-01 a column `quarantined` added the two up."""
    row: dict[str, Any] = {"delivery_day": day, "folders": len(folders)}
    row.update({name: sum(getattr(f, name) for f in folders) for name in TABLE_COLUMNS})
    row["files_read"] = row["files_listed"]
    row["seconds"] = round(seconds, 2)
    return row


@dataclass(frozen=True)
class Gap:
    """A part of a delivery day that failed: its changes are missing from the lake until a retry."""

    day: str  # the delivery day, YYYY-MM-DD
    what: str  # the day folder (AWSLogs/.../CloudTrail/REGION/YYYY/MM/DD) or "partitions of DAY"
    cause: str  # the error, one line


def near(event_date: str, delivery_day: str) -> bool:
    """Whether a delivery day's files can hold events of `event_date`: CloudTrail delivers an
    event within minutes, so on its own day or the next."""
    return 0 <= (date.fromisoformat(delivery_day) - date.fromisoformat(event_date)).days <= 1


def banner(event_date: str, gaps: list[Gap], no_logs: list[str], retry: str, source: str) -> list[str]:
    """What a page must say before its totals: INCOMPLETE when a folder that can hold events of
    this date failed (which, why, how to retry), NO LOGS when a delivery day of this date had none."""
    lines: list[str] = []
    mine = [g for g in gaps if near(event_date, g.day)]
    if mine:
        days = ", ".join(sorted({g.day for g in mine}))
        lines += [f"> **INCOMPLETE**: {len(mine)} part(s) of delivery day {days} failed and are not in the lake: "
                  "the totals and lists below leave out every change they held.", ">"]
        lines += [f"> - {code(g.what)}: {escape(clip(g.cause, CAUSE))}" for g in mine[:MAX_NOTES]]
        lines += [">", f"> **Retry**: {retry}", ""]
    empty = [d for d in no_logs if near(event_date, d)]
    if empty:
        lines += [f"> **NO LOGS**: delivery day {', '.join(empty)} had no CloudTrail log file under {code(source)}: "
                  "nothing below comes from it. Check that the trail still delivers there (its S3 bucket, "
                  "prefix and organization folder) and that the accounts and regions asked for are the trail's.", ""]
    return lines


def empty_summary(event_date: str) -> dict[str, Any]:
    """The summary of a date the lake holds nothing for (a night without logs, a failed first day)."""
    none = {"rows": [], "total": 0}
    return {"event_date": event_date, "changes": 0, "deletions": 0, "failed_attempts": 0, "risky_by_severity": {},
            **{part: none for part in SUMMARY_LISTS}}


def dns_markdown(summary: dict[str, Any], lake: str, notes: list[str] = (), banner: list[str] = ()) -> str:
    """The page an on-call engineer reads first, for one event date: the totals, what was flagged
    risky (the lake's dns_risk view), changes per zone, who made them (person and role), what
    changed with before and after, failed attempts, the family's other writes (VPC associations,
    Resolver, DNS Firewall, health checks, domains), then the data-quality notes of the run. A
    `banner` (INCOMPLETE, NO LOGS: see banner()) comes first, before the totals it qualifies.

    Narrow tables stay tables; the sections that say what happened are lists, one line per item,
    which wrap on a narrow page where a table of long values would need scrolling sideways."""
    day = summary["event_date"]
    risky = summary["risky"]["total"]
    lines = [f"# Route 53 changes on {day}", "", *banner,
             f"Event date {day} (UTC), as the lake at `{lake}` holds it now.", "",
             f"**{summary['changes']}** record change(s) applied, **{summary['deletions']}** deletion(s), "
             f"**{summary['failed_attempts']}** failed write attempt(s), **{risky}** flagged risky.", ""]
    sections = (
        ("Flagged risky (dns_risk)", summary["risky"], items, ("severity", "rule", "record", "detail", "who")),
        ("Changes per hosted zone", summary["by_zone"], table, ("zone", "created", "upserted", "deleted")),
        ("Who made them", summary["who"], table, ("person", "role", "account", "changes")),
        ("What changed", summary["changed"], items, ("time", "action", "type", "record", "change", "who")),
        ("Failed change attempts", summary["failed"], items, ("time", "call", "error", "zone", "who")),
        ("Other Route 53 changes", summary["others"], items,
         ("time", "call", "resource", "outcome", "source", "region", "account", "who")),
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
        text = [code(v) if c in ("record", "zone", "resource") else escape(v) for c, v in parts if v]
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
        return change_text(row)
    return row.get(column)


def change_text(row: dict[str, Any]) -> str:
    """What one change did, most telling first (a cut item keeps it): the routing fields that
    moved (`weight 10 → 100 (set green)`), the TTL, then the values before → after. An UPSERT of
    a record set seen before says only what differs, "(no change)" when nothing did; a CREATE, a
    DELETE or an UPSERT of a record set first seen gives the values and its routing."""
    before, after = row.get("before"), row.get("after")
    where = f" (set {row['set_identifier']})" if row.get("set_identifier") else ""
    routing = [(label, routing_value(row, "before", columns), routing_value(row, "after", columns)) for label, columns in ROUTING.items()]
    ttl_before, ttl_after = row.get("before_ttl"), row.get("after_ttl")
    ttl = [f"TTL {ttl_before} → {ttl_after}"] if None not in (ttl_before, ttl_after) and ttl_before != ttl_after else []
    if row.get("action") == "UPSERT" and before != "(not seen)":
        moved = [f"{label} {b or '(none)'} → {a or '(none)'}" for label, b, a in routing if b != a]
        values = [f"{before or '(none)'} → {after or '(none)'}"] if before != after else []
        if not (moved or ttl or values):
            return f"(no change){where}: {after or '(none)'}"
        head = [", ".join(moved) + where] if moved else []
        return "; ".join([*head, *ttl, *values]) + ("" if moved else where)
    if before is None and after is None:
        return ""
    kept = ", ".join(f"{label} {b if row.get('action') == 'DELETE' else a}" for label, b, a in routing
                     if (b if row.get("action") == "DELETE" else a))
    return "; ".join([*ttl, f"{before or '(none)'} → {after or '(none)'}", *([kept] if kept else [])]) + where


def routing_value(row: dict[str, Any], side: str, columns: tuple[str, ...]) -> str | None:
    """One routing field on one side of a change, as text (`NA/US/CA` for a geolocation); None when unset."""
    parts = [row.get(f"{side}_{c}") for c in columns]
    shown_parts = [("yes" if p else "no") if isinstance(p, bool) else str(p) for p in parts if p is not None]
    return "/".join(shown_parts) or None


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


def notes(run: RunSummary) -> list[str]:
    """The run's data-quality notes, one line each, bounded: rejected files and quarantined
    records per folder, digest findings, files gone from the source, failures."""
    lines = []
    for s in run.folders:
        where = f"delivery {s.delivery_date} {s.account}/{s.region}"
        if s.files_rejected:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(s.rejected_kinds.items()))
            lines.append(f"{where}: {s.files_rejected} file(s) rejected ({kinds}): rows in `quarantine`")
        if s.records_quarantined:
            lines.append(f"{where}: {s.records_quarantined} record(s) quarantined: rows in `quarantine`")
        if s.digest_problems:
            lines.append(f"{where}: {s.digest_problems} CloudTrail digest finding(s): see `_manifests`")
        if s.files_missing:
            lines.append(f"{where}: {s.files_missing} file(s) gone from the source; their {s.events_from_missing_files} event(s) kept")
    lines += [f"FAILED {f.what}: {f.error}"[:300] for f in run.failures if not f.digest]
    lines += [f"digest check failed {f.what}: {f.error}"[:300] for f in run.failures if f.digest]
    if len(lines) > MAX_NOTES:
        lines = [*lines[:MAX_NOTES], f"... and {len(lines) - MAX_NOTES} more (see the run's table and log)"]
    return lines
