"""What changed in DNS, in a few numbers and lists: the summary an on-call engineer reads first."""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa

ACTOR = pl.coalesce("session_issuer_arn", "user_identity_arn", "user_identity_invoked_by").fill_null("unknown")


def dns_digest(events: pa.Table, changes: pa.Table, limit: int = 25) -> dict[str, Any]:
    """Applied changes per (hosted zone, action), actors by changes, failed write attempts, deletions.

    Failed calls never count as changes: Route 53 applies a batch all or nothing. Lists are cut at
    `limit` rows; the totals say how many there were.
    """
    applied = pl.from_arrow(changes).filter(pl.col("error_code").is_null())
    calls = pl.from_arrow(events)
    failed = calls.filter(pl.col("error_code").is_not_null() & ~pl.col("read_only").fill_null(False))
    deletions = applied.filter(pl.col("action") == "DELETE")
    return {
        "changes": applied.height,
        "by_zone_action": _rows(applied.group_by("hosted_zone_id", "action").len("changes")
                                .sort("hosted_zone_id", "action", nulls_last=True), limit),
        "actors": _rows(applied.group_by(ACTOR.alias("actor")).len("changes").sort("changes", "actor", descending=[True, False]), limit),
        "failed_attempts": failed.height,
        "failed": _rows(failed.sort("event_time").select(
            pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M:%SZ"), "event_name", "error_code", ACTOR.alias("actor")), limit),
        "deletions": deletions.height,
        "deleted": _rows(deletions.sort("event_time", "change_index").select(
            pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M:%SZ"), "hosted_zone_id", pl.col("record_name_normalized").alias("record"),
            "record_type", ACTOR.alias("actor")), limit),
    }


def _rows(frame: pl.DataFrame, limit: int) -> list[dict[str, Any]]:
    return frame.head(limit).to_dicts()
