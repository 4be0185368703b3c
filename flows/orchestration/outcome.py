"""What a run leaves for a person, on the run they open: the per-day table, one DNS summary per
event date the run touched (rebuilt from the lake, so never emptier than the lake), events for
automations (flows/orchestration/alerts.py), and the final state: Failed with the causes, "Completed with
warnings" when files were rejected, records quarantined, digests disagreed or a day had no logs,
else Completed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Completed

from flows.orchestration import alerts
from flows.orchestration.report import day_rows, dns_markdown, notes
from flows.query.summary import lake_summaries, lake_tag, summary_key
from flows.results import DaySummary, FolderFailure, RunSummary, raise_failures
from flows.settings import LakeSettings

WARNING_STATE = "Completed with warnings"


@dataclass
class RunReport:
    """What the days of a run add up to, beyond the RunSummary: the table rows, the event dates
    published or checked (`touched`), those among them read anew (`fresh`), and the warnings sent."""

    rows: list[dict] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    fresh: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

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
        self.warnings += [f"{day}: {text}" for text in warnings(sent, folders, failures)]


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
    """The run's artifacts and events, then its final state (raises when something failed)."""
    logger = get_run_logger()
    tag = lake_tag(settings.lake)
    create_table_artifact(key=f"route53-lake-days-{tag}", table=report.rows,
                          description=f"Lake {settings.lake}: per delivery day, folders, files listed and rejected, records, "
                                      "Route 53 records, events, record changes, duplicates, records quarantined, bytes, seconds")
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
            logger.warning("DNS summaries not rebuilt from the lake: %s: %s", type(error).__name__, error)
            summaries, report.warnings = {}, [*report.warnings, "DNS summaries not rebuilt"]
    page_notes = notes(run)
    for event_date, summary in summaries.items():
        create_markdown_artifact(key=summary_key(settings.lake, event_date), markdown=dns_markdown(summary, settings.lake, page_notes),
                                 description=f"Route 53 changes on {event_date} (event date) in lake {settings.lake}")
    alerts.risky_events(settings.lake, {d: s for d, s in summaries.items() if d in report.fresh})
    logger.info(run.describe())
    raise_failures(run)
    if report.warnings:
        message = "finished with warnings: " + "; ".join(report.warnings)
        logger.warning(message)
        return Completed(name=WARNING_STATE, message=message[:1000], data=run)
    return run
