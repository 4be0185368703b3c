"""The DNS summary's markdown: short cells, bounded lists, one vocabulary."""

from __future__ import annotations

from flows.orchestration.report import CELL, ITEM, LONG, cell, dns_markdown, more, table
from flows.query.summary import LISTS
from flows.results import DaySummary, describe


def summary(**parts):
    empty = {"rows": [], "total": 0}
    return {"event_date": "2026-11-02", "changes": 3, "deletions": 1, "failed_attempts": 0,
            **{k: parts.get(k, empty) for k in LISTS}}


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
    assert "the lake at `/srv/lake`" in page and page.startswith("# Route 53 changes on 2026-11-02")


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


def test_the_incomplete_banner_is_on_the_pages_a_failed_day_can_hold_events_of():
    from flows.orchestration.report import Gap, banner

    gap = Gap("2026-11-02", "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/02", "PermissionError: AccessDenied_x *")
    shown = {d: banner(d, [gap], [], "run `x`", "/trail") for d in ("2026-11-01", "2026-11-02", "2026-11-03")}
    assert shown["2026-11-03"] == []  # a day's files hold events of that day and the evening before, never of the next
    assert shown["2026-11-01"] == shown["2026-11-02"]
    assert shown["2026-11-02"][0].startswith("> **INCOMPLETE**: 1 part(s) of delivery day 2026-11-02 failed")
    assert "> - `AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/02`: PermissionError: AccessDenied\\_x \\*" in shown["2026-11-02"]
    assert "> **Retry**: run `x`" in shown["2026-11-02"]
    page = dns_markdown(summary(), "/srv/lake", banner=shown["2026-11-02"]).splitlines()
    assert page[2].startswith("> **INCOMPLETE**") and page.index(next(x for x in page if "record change(s) applied" in x)) > 2


def test_a_created_or_deleted_routing_record_shows_its_routing_and_set():
    from flows.orchestration.report import change_text

    created = {"action": "CREATE", "before": None, "after": "198.51.100.20", "after_weight": 10, "set_identifier": "green"}
    deleted = {"action": "DELETE", "before": "198.51.100.10", "after": None, "before_weight": 0, "before_failover": "PRIMARY",
               "before_alias_evaluate_target_health": True, "set_identifier": "blue"}
    assert change_text(created) == "(none) → 198.51.100.20; weight 10 (set green)"
    assert change_text(deleted) == "198.51.100.10 → (none); weight 0, failover PRIMARY, evaluate target health yes (set blue)"
    moved = {"action": "UPSERT", "before": "ALIAS a.", "after": "ALIAS a.", "before_alias_evaluate_target_health": True,
             "after_alias_evaluate_target_health": False, "before_geo_country_code": "US", "after_geo_country_code": "US",
             "before_geo_subdivision_code": "CA", "after_geo_subdivision_code": None}
    assert change_text(moved) == "geo US/CA → US, evaluate target health yes → no"
