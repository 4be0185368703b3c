"""A DNS summary's lists: the first `limit` rows, in the list's order, and the full count, as the
whole query would give them; counted in DuckDB, never fetched whole (a dense day's `changed` list
is 150,000 rows: fetched as Python dicts, a gigabyte in the flow's process)."""

from __future__ import annotations

import pytest

from flows.query.duckdb_lake import connect
from flows.query.summary import LISTS, QUERIES, RISKY_ROWS, dns_summary


@pytest.fixture(scope="module")
def con(sample_lake):
    con = connect(str(sample_lake))
    yield con
    con.close()


@pytest.mark.slow  # over ~3 s: make check leaves it to make test
@pytest.mark.parametrize("limit", [1, 3, 1000])
def test_each_list_is_the_first_rows_of_its_query_and_its_full_count(con, limit):
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        summary = dns_summary(con, day, limit=limit)
        for name in LISTS:
            relation = con.execute(QUERIES[name], {"day": day})
            columns = [d[0] for d in relation.description]
            every = [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
            assert summary[name] == {"rows": every[:limit], "total": len(every)}, (day, name)


def test_the_sample_has_lists_longer_than_a_small_limit(con):
    """So the test above cuts lists, rather than passing on lists that all fit."""
    summary = dns_summary(con, "2026-11-02", limit=1)
    assert summary["changed"]["total"] > 3 and summary["who"]["total"] > 1


def test_a_summary_leaves_no_table_behind(con):
    dns_summary(con, "2026-11-02")
    assert con.execute("select count(*) from duckdb_tables() where table_name = $name", {"name": RISKY_ROWS}).fetchone()[0] == 0
