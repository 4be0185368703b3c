"""Prefect events for what a person must hear about, so automations can notify (automations/):

    route53-lake.day.failed           a day folder or its partitions failed (not the data: access, I/O)
    route53-lake.day.quarantined      files rejected or records quarantined
    route53-lake.day.digest-mismatch  CloudTrail digests disagree with the files (missing, changed)
    route53-lake.day.no-logs          a delivery day without any CloudTrail file (wrong prefix, broken trail)
    route53-lake.risky-change         the lake's dns_risk view flags changes of an event date the run read

Each event's resource is the day in one lake (`route53-lake.<lake tag>.day.<YYYY-MM-DD>`); the
payload holds the day, the lake, the counts, and links to the run and its artifacts. Events are
sent after the day is published and never fail a run.
"""

from __future__ import annotations

import prefect.runtime
from prefect.events import emit_event

from flows.query.summary import lake_tag
from flows.results import DaySummary, FolderFailure

PREFIX = "route53-lake"
EVENTS = ("day.failed", "day.quarantined", "day.digest-mismatch", "day.no-logs", "risky-change")


def resource(lake: str, day: str) -> dict[str, str]:
    return {"prefect.resource.id": f"{PREFIX}.{lake_tag(lake)}.day.{day}",
            "prefect.resource.name": f"{day} in {lake}",
            "route53-lake.lake": lake, "route53-lake.day": day}


def links() -> dict[str, str | None]:
    return {"flow_run": prefect.runtime.flow_run.name, "flow_run_url": prefect.runtime.flow_run.ui_url}


def emit(name: str, lake: str, day: str, **payload) -> None:
    emit_event(event=f"{PREFIX}.{name}", resource=resource(lake, day),
               payload={"day": day, "lake": lake, **payload, **links()})


def day_events(lake: str, day: str, files: int, checked: bool, folders: list[DaySummary],
               failures: list[FolderFailure]) -> list[str]:
    """The events one published delivery day calls for (sent); their names, for the run's state."""
    sent = []
    broken = [f for f in failures if not f.digest]
    if broken:
        emit("day.failed", lake, day, failed=len(broken), causes=[f"{f.what}: {f.error}"[:300] for f in broken[:10]])
        sent.append("day.failed")
    rejected = sum(f.files_rejected for f in folders)
    quarantined = sum(f.records_quarantined for f in folders)
    if rejected or quarantined:
        kinds: dict[str, int] = {}
        for f in folders:
            for kind, n in f.rejected_kinds.items():
                kinds[kind] = kinds.get(kind, 0) + n
        emit("day.quarantined", lake, day, files_rejected=rejected, records_quarantined=quarantined, kinds=kinds)
        sent.append("day.quarantined")
    digest = sum(f.digest_problems for f in folders) + sum(1 for f in failures if f.digest)
    if digest:
        emit("day.digest-mismatch", lake, day, findings=digest, files_missing=sum(f.files_missing for f in folders))
        sent.append("day.digest-mismatch")
    if not files and not checked and not broken:
        emit("day.no-logs", lake, day, folders=len(folders))
        sent.append("day.no-logs")
    return sent


def risky_events(lake: str, summaries: dict[str, dict]) -> list[str]:
    """One event per event date with flagged changes: counts per severity and the first few."""
    sent = []
    for day, summary in summaries.items():
        rows = summary["risky"]["rows"]
        if not rows:
            continue
        severities: dict[str, int] = dict(summary.get("risky_by_severity") or {})
        if not severities:  # a summary made before it counted them: the listed rows
            for row in rows:
                severities[row["severity"]] = severities.get(row["severity"], 0) + 1
        emit("risky-change", lake, day, flagged=summary["risky"]["total"], by_severity=severities,
             first=[f"{r['severity']} {r['rule']}: {r['record']} by {r['person'] or r['role']}"[:200] for r in rows[:5]])
        sent.append("risky-change")
    return sent
