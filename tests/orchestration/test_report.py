"""The DNS summary's markdown: short cells, bounded lists, one vocabulary."""

from __future__ import annotations

from flows.orchestration.report import CELL, ITEM, LONG, cell, dns_markdown, more, table
from flows.results import DaySummary, describe


def summary(**parts):
    empty = {"rows": [], "total": 0}
    return {"event_date": "2026-11-02", "changes": 3, "deletions": 1, "failed_attempts": 0,
            **{k: parts.get(k, empty) for k in ("by_zone", "who", "risky", "changed", "failed")}}


def test_a_long_value_is_cut_and_never_breaks_the_row():
    text = cell("a" * 500 + "\n|b")
    assert len(text) == CELL and text.endswith("…") and "\n" not in text


def test_a_list_longer_than_shown_says_how_many_more():
    assert more([{"zone": "example.com."}] * 2, total=7)[-1].startswith("... and 5 more")
    assert more([{"zone": "example.com."}] * 2, total=2) == []
    assert table([], ("zone",)) == ["None."]


def test_what_changed_shows_before_and_after_ttl_first_and_the_person_over_the_role():
    row = {"time": "08:15:21", "record": "api.example.com.", "type": "CNAME", "action": "UPSERT", "before": "lb-1.elb.amazonaws.com",
           "after": "lb-2.elb.amazonaws.com" + ".x" * 60, "before_ttl": 60, "after_ttl": 300, "person": "jane", "role": "AWSReservedSSO_Admin"}
    page = dns_markdown(summary(changed={"rows": [row], "total": 1}), "/srv/lake")
    item = next(line for line in page.splitlines() if line.startswith("- **08:15:21**"))
    assert item.startswith("- **08:15:21** · UPSERT · CNAME · `api.example.com.` · TTL 60 → 300; lb-1.elb.amazonaws.com → lb-2")
    assert item.endswith("… · jane")  # TTL first: a cut value keeps it
    assert "Lake `/srv/lake`" in page and page.startswith("# Route 53 changes on 2026-11-02")


def test_no_table_of_the_page_is_wider_than_a_laptop_screen_holds():
    """Tables (zones, people) have at most four short columns; what happened is a list that wraps."""
    long = "x" * 300
    rows = {"by_zone": [{"zone": long, "created": 10**9, "upserted": 1, "deleted": 0}],
            "who": [{"person": long, "role": long, "changes": 5}],
            "risky": [{"severity": "high", "rule": long, "record": long, "detail": long, "person": long}],
            "changed": [{"time": "00:00:00", "record": long, "type": "TXT", "action": "UPSERT", "before": long, "after": long, "role": long}],
            "failed": [{"time": "00:00:00", "call": long, "error": long, "zone": long, "role": long}]}
    page = dns_markdown(summary(**{k: {"rows": v, "total": 1} for k, v in rows.items()}), "/srv/lake")
    table_lines = [line for line in page.splitlines() if line.startswith("|")]
    assert table_lines and max(map(len, table_lines)) <= 4 * (CELL + 3) + 1
    listed = [line for line in page.splitlines() if line.startswith("- **")]
    assert len(listed) == 3 and all(len(line) <= 6 * (ITEM + 5) + 2 * max(LONG.values()) for line in listed)


def test_values_never_turn_into_markup():
    risky = {"severity": "high", "rule": "wildcard_record", "record": "*.example.com.", "person": "eve*<b>[x](y)",
             "detail": "TXT `v=spf1 ~all` | _dmarc"}
    page = dns_markdown(summary(risky={"rows": [risky], "total": 1}), "/srv/lake")
    item = next(line for line in page.splitlines() if line.startswith("- **high**"))
    assert item == "- **high** · wildcard\\_record · `*.example.com.` · TXT \\`v=spf1 ~all\\` \\| \\_dmarc · eve\\*\\<b\\>\\[x\\](y)"


def test_the_day_line_says_files_rejected_and_records_quarantined_as_the_totals_do():
    s = DaySummary("2026-11-02", "123456789012", "us-east-1", None, files_listed=8, files_rejected=1, records_quarantined=2,
                   rejected_kinds={"truncated_gzip": 1, "too_deep": 2})
    assert describe(s).endswith("1 file(s) rejected, 2 record(s) quarantined (2 too_deep, 1 truncated_gzip)")
