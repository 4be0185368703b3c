"""The DNS summary's markdown: short cells, bounded lists, one vocabulary."""

from __future__ import annotations

from flows.report import CELL, WIDE, cell, dns_markdown, table
from flows.results import DaySummary, describe


def summary(**parts):
    empty = {"rows": [], "total": 0}
    return {"event_date": "2026-11-02", "changes": 3, "deletions": 1, "failed_attempts": 0,
            **{k: parts.get(k, empty) for k in ("by_zone", "who", "risky", "changed", "failed")}}


def test_a_long_value_is_cut_and_never_breaks_the_row():
    text = cell("a" * 500 + "\n|b")
    assert len(text) == CELL and text.endswith("…") and "\n" not in text


def test_a_list_longer_than_shown_says_how_many_more():
    lines = table([{"zone": "example.com."}] * 2, ("zone",), total=7)
    assert lines[-1].startswith("... and 5 more")


def test_what_changed_shows_before_and_after_ttl_first_and_the_person_over_the_role():
    row = {"time": "08:15:21", "record": "api.example.com.", "type": "CNAME", "action": "UPSERT", "before": "lb-1.elb.amazonaws.com",
           "after": "lb-1.elb.amazonaws.com", "before_ttl": 60, "after_ttl": 300, "person": "jane", "role": "AWSReservedSSO_Admin"}
    page = dns_markdown(summary(changed={"rows": [row], "total": 1}), "/srv/lake")
    assert "| TTL 60 -> 300; lb-1.elb.amazonaws.com -> lb-1.e… | jane |" in page  # TTL first: a cut cell keeps it
    assert "Lake `/srv/lake`" in page and page.startswith("# Route 53 changes on 2026-11-02")
    widest = max(len(c) for line in page.splitlines() if line.startswith("| ") for c in line.split(" | "))
    assert widest <= max(WIDE.values()) + 2


def test_the_day_line_says_files_rejected_and_records_quarantined_as_the_totals_do():
    s = DaySummary("2026-11-02", "123456789012", "us-east-1", None, files_listed=8, files_rejected=1, records_quarantined=2,
                   rejected_kinds={"truncated_gzip": 1, "too_deep": 2})
    assert describe(s).endswith("1 file(s) rejected, 2 record(s) quarantined (2 too_deep, 1 truncated_gzip)")
