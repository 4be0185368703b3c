"""A backfill's day as its parent reports it: the child run's state, the cause of a failure in one
line, its counts, its notes and a link to its page; and a row of the parent's table of days (read
back from that table when a retried day brings its parent up to date: flows/orchestration/backfill.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.orchestration.report import CAUSE, day_rows
from flows.orchestration.report import notes as run_notes
from flows.results import RunSummary

# the counts of a day in the parent's table (the child's own table has them all): few, so the
# error column stays on the page
BACKFILL_COUNTS = ("files_listed", "files_rejected", "records_quarantined", "events_written", "record_changes_written", "seconds")
LINK = re.compile(r"^\[(?P<name>[^\]]+)\]\((?P<url>.*?/runs/flow-run/(?P<id>[0-9a-fA-F-]{36}))\)$")


@dataclass
class DayOutcome:
    """A child run as the parent reports it."""

    day: str
    state: str  # COMPLETED, FAILED, CRASHED, ...
    state_name: str  # "Completed", "Completed with warnings", "Failed", ...
    cause: str | None  # why it failed, one line
    counts: dict | None  # its row of route53-lake-days (None when it failed)
    notes: list[str]  # its data-quality notes
    run_name: str | None = None
    run_id: str | None = None  # the child flow run, for a link to its page
    message: str | None = None  # its state's message ("1 file(s) rejected on ...": the warnings of a completed day)

    @property
    def warned(self) -> bool:
        return self.state == "COMPLETED" and self.state_name != "Completed"

    @property
    def no_logs(self) -> bool:
        """A completed day that listed no log file (its own page says NO LOGS; the parent's too)."""
        return self.state == "COMPLETED" and self.counts is not None and not self.counts.get("files_listed")


PREAMBLES = ("Flow run encountered an exception: ", "Task run encountered an exception: ",
             "RunFailed: ", "1 part(s) of the run failed, the rest was published: ",
             "1 part(s) of the run failed, nothing was published: ")


TAILS = (". To retry: ", ". To do: ")  # a day run's message: reason, then what to do and where (outcome.py)


def cause_of(message: str | None) -> str:
    """A day run's state message in one line, the reason only: the exception's own words, not
    Prefect's preamble, nor the day's own hints (the parent gives its own: Retry on the day's run)."""
    text = " ".join((message or "no message").split())
    for preamble in PREAMBLES:
        text = text.removeprefix(preamble)
    for tail in TAILS:
        text = text.split(tail, 1)[0]
    return text if len(text) <= CAUSE else f"{text[:CAUSE // 2 - 2]} … {text[-(CAUSE // 2 - 2):]}"


def day_outcome(day: str, state, seconds: float, name: str | None = None, counts: dict | None = None,
             run_id: str | None = None) -> DayOutcome:
    """A child's state as the parent reports it. An in-process child hands over its RunSummary; a
    child on the work pool its table artifact (`counts`), read from the API."""
    notes: list[str] = []
    if state.is_completed() and counts is None:
        result = state.result(raise_on_failure=False)
        if isinstance(result, RunSummary):
            counts, notes = day_rows(day, result.folders, seconds), run_notes(result)
    if counts is not None:
        counts = {**counts, "seconds": round(seconds, 2)}
    if state.is_completed() and not notes and state.message:  # "finished with warnings: ..."
        notes = [f"delivery day {day}: {cause_of(state.message)}"]
    cause = None if state.is_completed() else cause_of(state.message)
    run_id = run_id or (str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None)
    return DayOutcome(day, state.type.value, state.name or state.type.value.title(), cause, counts, notes, name, run_id,
                      cause_of(state.message) if state.message else None)


def run_link(outcome: DayOutcome) -> str | None:
    """The child run's name as a markdown link to its page (Prefect renders a table's text cells as markdown)."""
    if not outcome.run_id or not outcome.run_name:
        return outcome.run_name
    from prefect.utilities.urls import url_for

    try:
        url = url_for("flow-run", obj_id=outcome.run_id)
    except Exception:  # noqa: BLE001 - no UI address configured: the UI's own path still works from its pages
        url = None
    return f"[{outcome.run_name}]({url or '/runs/flow-run/' + outcome.run_id})"


def backfill_row(outcome: DayOutcome) -> dict:
    """A day of the parent's table: its state, the cause if it failed, the child run (a link), its
    counts (blank when it failed). The cause comes before the run and counts: Prefect draws a table
    artifact one line per row, so what comes first is what a person reads without scrolling."""
    counts = outcome.counts or {}
    counts = {k: counts.get(k) for k in BACKFILL_COUNTS}
    return {"delivery_day": outcome.day, "state_name": outcome.state_name, "error": outcome.cause,
            "run": run_link(outcome), "state": outcome.state, **counts}


def outcome_of(row: dict):
    """A day of the parent's table as the parent reported it (its counts, state, cause and run)."""
    link = LINK.match(row.get("run") or "")
    counts = {k: row.get(k) for k in BACKFILL_COUNTS} if row.get("state") == "COMPLETED" else None
    return DayOutcome(row["delivery_day"], row["state"], row["state_name"], row.get("error"), counts, [],
                      link["name"] if link else row.get("run"), link["id"] if link else None)
