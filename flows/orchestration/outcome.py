"""What a run leaves for a person, on the run they open: the per-day table, one DNS summary per
event date the run touched (rebuilt from the lake, so never emptier than the lake; INCOMPLETE above
the totals when a part of a day failed, NO LOGS for a day without logs, each such day with a page
even when the lake holds nothing for it), events for automations (flows/orchestration/alerts.py),
and the final state: Failed with the causes, "Completed with warnings" (and the tag `warnings`)
when files were rejected, records quarantined, digests disagreed or a day had no logs, else
Completed. A state's message says the reason first, then what to do, then where: Prefect cuts it
in the run's details, in a backfill's table and in notifications."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import prefect.runtime
from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Completed, Failed

from flows.orchestration import alerts
from flows.orchestration.marks import WARNING_STATE, WARNING_TAG, retry_command, tag_run
from flows.orchestration.report import Gap, banner, day_rows, dns_markdown, empty_summary, near, notes
from flows.query.history import lake_summaries
from flows.query.summary import lake_tag, summary_key
from flows.results import DaySummary, DigestMismatchError, FolderFailure, RunFailed, RunSummary, raise_failures
from flows.settings import LakeSettings


@dataclass
class RunReport:
    """What the days of a run add up to, beyond the RunSummary: the table rows, the event dates
    published or checked (`touched`), those among them read anew (`fresh`), the warnings sent, the
    parts of days that failed (`gaps`) and the days without logs."""

    rows: list[dict] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    fresh: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)  # the parts of days that failed: their pages say INCOMPLETE
    no_logs: list[str] = field(default_factory=list)  # delivery days without a log file: their pages say so

    def day(self, settings: LakeSettings, day: date, listings: list, partitions: set, folders: list[DaySummary],
            failures: list[FolderFailure], seconds: float) -> None:
        """One delivery day done: its row, its event dates, its events."""
        files = sum(len(x.objects) for x in listings)
        dates = {p.value for p in partitions if p.column == "event_date"}
        self.rows.append(day_rows(day.isoformat(), folders, seconds))
        self.touched |= dates
        if files:
            self.fresh |= dates
        sent = alerts.day_events(settings.lake, day.isoformat(), files, bool(partitions), folders, failures)
        self.warnings += [f"{text} on {day}" for text in warnings(sent, folders, failures)]
        self.gaps += [Gap(day.isoformat(), f.what, f.error) for f in failures if not f.digest]
        if "day.no-logs" in sent:
            self.no_logs.append(day.isoformat())
        if "day.no-logs" in sent or any(not f.digest for f in failures):
            self.touched.add(day.isoformat())  # the day gets a page that says what is missing


def warnings(sent: list[str], folders: list[DaySummary], failures: list[FolderFailure]) -> list[str]:
    """What makes a published day "Completed with warnings", in the words of the run's totals."""
    out = []
    if "day.quarantined" in sent:
        rejected, quarantined = sum(f.files_rejected for f in folders), sum(f.records_quarantined for f in folders)
        out += [f"{rejected} file(s) rejected"] if rejected else []
        out += [f"{quarantined} record(s) quarantined"] if quarantined else []
    if "day.digest-mismatch" in sent:
        out.append(f"{sum(f.digest_problems for f in folders) + sum(f.digest for f in failures)} digest finding(s)")
    if "day.no-logs" in sent:
        out.append("no CloudTrail logs")
    return out


def finish(settings: LakeSettings, run: RunSummary, report: RunReport):
    """The run's artifacts and events, then its final state: Failed with the reason first when a
    part failed (DigestMismatchError raised when only digests disagreed), "Completed with
    warnings" with the reason first, else Completed."""
    logger = get_run_logger()
    tag = lake_tag(settings.lake)
    create_table_artifact(key=f"route53-lake-days-{tag}", table=report.rows,
                          description=f"Per delivery day, the lake at {settings.lake}: folders, files listed and rejected, records, "
                                      "Route 53 records, events, record changes, duplicates, records quarantined, bytes, seconds")
    summaries = read_summaries(settings, report)
    page_notes = notes(run)
    retry = retry_hint(settings, sorted({g.day for g in report.gaps}))
    for event_date, summary in summaries.items():
        top = banner(event_date, report.gaps, report.no_logs, retry, settings.source)
        create_markdown_artifact(key=summary_key(settings.lake, event_date),
                                 markdown=dns_markdown(summary, settings.lake, page_notes, top),
                                 description=f"Route 53 changes on {event_date} (event date), the lake at {settings.lake}"
                                             + (": INCOMPLETE" if any(near(event_date, g.day) for g in report.gaps) else ""))
    alerts.risky_events(settings.lake, {d: s for d, s in summaries.items() if d in report.fresh})
    logger.info(run.describe())
    try:
        raise_failures(run)
    except (RunFailed, DigestMismatchError) as error:  # the exception stays the run's result; the message leads with why
        return Failed(message=failure_message(settings, run, report, retry)[:1000], data=error)
    if report.warnings:
        message = warning_message(settings, report)
        logger.warning(message)
        tag_run(WARNING_TAG)
        return Completed(name=WARNING_STATE, message=message[:1000], data=run)
    return run


def read_summaries(settings: LakeSettings, report: RunReport) -> dict[str, dict]:
    """Each touched event date's summary from the lake; a day with no logs or a failed part gets
    its page even when the lake holds nothing for it (or cannot be read: the warning says so)."""
    summaries: dict[str, dict] = {}
    for attempt in range(3):
        try:
            summaries = lake_summaries(settings.lake, sorted(report.touched))
            break
        except Exception as error:  # noqa: BLE001 - the lake is published; a summary that cannot be read is a warning
            # A partition another run (a backfill's other day) replaces while it is read reads as
            # damaged ("TProtocolException: Invalid data"): read the lake again, it is whole.
            if attempt < 2:
                time.sleep(1 + attempt)
                continue
            get_run_logger().warning("DNS summaries not rebuilt from the lake: %s: %s", type(error).__name__, error)
            report.warnings = [*report.warnings, "DNS summaries not rebuilt from the lake"]
    for day in [*report.no_logs, *(g.day for g in report.gaps)]:
        summaries.setdefault(day, empty_summary(day))
    return dict(sorted(summaries.items()))


def retry_hint(settings: LakeSettings, days: list[str]) -> str:
    """How to publish failed days again: the exact command, and Prefect's Retry for a run of a deployment."""
    shell = retry_command(settings, days)
    if prefect.runtime.deployment.id:
        return f"press Retry on this run's page in Prefect (it publishes the same days again), or run {shell}"
    return f"run {shell} from the repository"


def failure_message(settings: LakeSettings, run: RunSummary, report: RunReport, retry: str) -> str:
    """A failed run's state message: why first, then what to do, then where (the folders). Prefect
    cuts it in the run's details, the backfill's table and notifications: the reason must lead."""
    broken = [f for f in run.failures if not f.digest]
    if not broken:  # digest_policy fail: every folder was published, and their digests disagree
        return ("; ".join(f.error for f in run.failures) + " (CloudTrail digest findings; the folders were published). "
                "To do: see the days' manifests in `_manifests`, and find what changed or removed the files. "
                "Where: " + "; ".join(f.what for f in run.failures))
    causes = "; ".join(dict.fromkeys(f.error for f in broken))
    days = ", ".join(sorted({g.day for g in report.gaps}))
    return (f"{causes} ({len(broken)} part(s) of {days} not published; the rest was). "
            f"To retry: {retry}. Where: " + "; ".join(f.what for f in broken))


TODO = {"rejected": "see the rows of the lake's `quarantine` table (route53-lake sql --lake LAKE)",
        "quarantined": "see the rows of the lake's `quarantine` table (route53-lake sql --lake LAKE)",
        "digest": "see the day's manifest in `_manifests`",
        "no CloudTrail logs": "check that the trail still delivers to the source",
        "not rebuilt": "read the run's log; the lake itself is published"}


def warning_message(settings: LakeSettings, report: RunReport) -> str:
    """'Completed with warnings' in one line: what (reason first), then what to do, then where."""
    todo = dict.fromkeys(text for warning in report.warnings for key, text in TODO.items() if key in warning)
    return (f"{'; '.join(report.warnings)}. To do: {'; '.join(todo)}. "
            f"Where: the lake at {settings.lake}, the source at {settings.source}")


