"""A night's DNS summary reads only the dates it summarizes and a checkpoint of the past
(flows/query/history.py), and says exactly what the views over the whole lake say: the oracle here
is the old way, every query over connect(lake). The lake is the dns_risk cases spread over 8 days,
plus a last day whose changes look back at untouched days (a TTL lowered since an UPSERT days
before, a new actor in an old zone, an alias moved to a target first used, a weight moved)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from flows.pipeline import run_without_prefect
from flows.query import history
from flows.query.duckdb_lake import connect
from flows.query.history import lake_summaries
from flows.query.summary import dns_summary
from flows.settings import LakeSettings
from flows.storage.store import open_store
from tests.conftest import gz, log_key
from tests.query.test_dns_risk import ACCT, INTRUDER, RECORDS, R, alias, batch, routed, rr

FIRST = date(2026, 10, 27)
pytestmark = pytest.mark.slow  # lakes of nine days, the oracle a full scan: make check leaves it to make test

DAYS = [FIRST + timedelta(days=n) for n in range(9)]
SOURCES = ["route53.amazonaws.com", "route53domains.amazonaws.com", "route53resolver.amazonaws.com"]
LAST_DAY = [  # what the last day changes, each looking back at a day it does not touch
    batch("n1", "07:00:00", "ZRISK", rr("UPSERT", f"api.{R}", "A", "192.0.2.2", ttl=30)),
    batch("n2", "07:01:00", "ZRISK", rr("CREATE", f"intruder.{R}", "A", "203.0.113.9"), who=INTRUDER),
    batch("n3", "07:02:00", "ZRISK", alias("UPSERT", f"cdn.{R}", "d3.cloudfront.net.", "Z2FDTNDATAQYW2")),
    batch("n4", "07:03:00", "ZRISK", routed("UPSERT", f"w.{R}", "blue", "192.0.2.99", weight=5)),
]


def on_day(record: dict, day: date) -> dict:
    return {**record, "eventTime": f"{day}T{record['eventTime'].split('T', 1)[1]}"}


def spread() -> dict[date, list[dict]]:
    """The cases in their order over the first 8 days (so a change's before is often days earlier), then the last day."""
    days: dict[date, list[dict]] = {d: [] for d in DAYS}
    for i, record in enumerate(RECORDS):
        day = DAYS[i * 8 // len(RECORDS)]
        days[day].append(on_day(record, day))
    days[DAYS[-1]] = [on_day(r, DAYS[-1]) for r in LAST_DAY]
    return days


def write_trail(trail: str, days: dict[date, list[dict]], stamp: str = "1105") -> None:
    store = open_store(trail)
    for day, records in days.items():
        store.write_bytes(log_key(ACCT, day.isoformat(), stamp), gz(records))


def build(trail: str, lake: str) -> LakeSettings:
    write_trail(trail, spread())
    settings = LakeSettings(source=trail, lake=lake, event_sources=SOURCES)
    run_without_prefect(settings, DAYS)
    return settings


def full_summaries(lake: str, dates: list[str]) -> dict:
    con = connect(lake)
    try:
        return {d: dns_summary(con, d) for d in dates}
    finally:
        con.close()


def rows(con, query: str, first: str) -> list[tuple]:
    return sorted(map(repr, con.execute(query, {"first": first}).fetchall()))


RISK = "select * from dns_risk where event_date >= $first"
HISTORY = "select * exclude (change_number) from record_history where event_date >= $first"  # numbered within what is read


def assert_same_as_whole_lake(lake: str, first: str, whole_lake: str | None = None) -> None:
    """The summaries and views of the dates from `first` on, read as a night reads them from `lake`,
    against the oracle over the whole lake at `whole_lake` (the same lake: by default `lake` itself)."""
    whole_lake = whole_lake or lake
    dates = [d.isoformat() for d in DAYS if d.isoformat() >= first]
    assert lake_summaries(lake, dates) == full_summaries(whole_lake, dates)
    whole, night = connect(whole_lake), history.summary_connection(lake, dates)
    try:
        assert rows(night, RISK, first) == rows(whole, RISK, first)
        assert rows(night, HISTORY, first) == rows(whole, HISTORY, first)
    finally:
        whole.close(), night.close()


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(history, "HORIZON_DAYS", 3)
        build(str(root / "trail"), str(root / "lake"))
    return str(root / "lake")


def test_the_last_day_looks_back_at_days_it_does_not_touch(lake):
    """The cases are what this test is about: each change of the last day is flagged or shown with
    a before that lives days earlier."""
    last = DAYS[-1].isoformat()
    summary = lake_summaries(lake, [last])[last]
    flagged = {(r["rule"], r["record"]) for r in summary["risky"]["rows"]}
    assert {("ttl_drop", f"api.{R}"), ("new_actor_in_zone", f"intruder.{R}"), ("alias_target_moved", f"cdn.{R}"),
            ("traffic_shift", f"w.{R}")} <= flagged
    api = next(r for r in summary["changed"]["rows"] if r["record"] == f"api.{R}")
    assert (api["before_ttl"], api["after_ttl"], api["before_known"]) == (300, 30, True)
    assert {r["zone"] for r in summary["by_zone"]["rows"]} == {R}  # named by a CreateHostedZone on the first day


@pytest.mark.parametrize("back", [0, 1, 3, 5])
def test_a_summary_from_any_date_on_is_the_whole_lakes(lake, back):
    assert_same_as_whole_lake(lake, DAYS[-1 - back].isoformat())


def test_a_run_leaves_a_checkpoint_and_a_summary_reads_only_the_dates_after_it(lake, monkeypatch):
    store = open_store(lake)
    (checkpoint,) = history.checkpoints(store)
    assert checkpoint.through == (DAYS[-1] - timedelta(days=3)).isoformat()
    assert history.is_valid(store, checkpoint, history.list_dates(store))
    read: list[str] = []
    listed = history.partition_files
    monkeypatch.setattr(history, "partition_files", lambda s, d, t, days: read.extend(days) or listed(s, d, t, days))
    history.summary_connection(lake, [DAYS[-1].isoformat()]).close()
    assert sorted(set(read)) == [d.isoformat() for d in DAYS if d > date.fromisoformat(checkpoint.through)]


def test_a_rebuilt_old_date_makes_the_checkpoint_stale_and_the_summary_stays_right(tmp_path, monkeypatch):
    monkeypatch.setattr(history, "HORIZON_DAYS", 3)
    settings = build(str(tmp_path / "trail"), str(tmp_path / "lake"))
    store = open_store(settings.lake)
    (before,) = history.checkpoints(store)
    # a late file for the second day: api's TTL changes there, and the last day's before with it
    late = {DAYS[1]: [on_day(batch("late", "23:59:00", "ZRISK", rr("UPSERT", f"api.{R}", "A", "192.0.2.2", ttl=10)), DAYS[1])]}
    write_trail(settings.source, late, stamp="2355")
    monkeypatch.setattr(history, "advance", lambda *args, **kwargs: None)  # the stale checkpoint stays, unused
    run_without_prefect(settings, [DAYS[1]])
    assert not history.is_valid(store, before, history.list_dates(store))
    assert_same_as_whole_lake(settings.lake, DAYS[-1].isoformat())
    last = DAYS[-1].isoformat()
    api = next(r for r in lake_summaries(settings.lake, [last])[last]["changed"]["rows"] if r["record"] == f"api.{R}")
    assert api["before_ttl"] == 10  # the late change came last before it; the stale checkpoint held b3's 300
    monkeypatch.undo()
    monkeypatch.setattr(history, "HORIZON_DAYS", 3)
    made = history.advance(settings.lake)
    assert made is not None and history.checkpoints(store)[0] == made and before not in history.checkpoints(store)
    assert_same_as_whole_lake(settings.lake, DAYS[-2].isoformat())


def test_on_s3_the_summary_is_the_whole_lakes(s3, bucket, monkeypatch, tmp_path):
    """The night reads the S3 lake (its checkpoint, the dates after it); the oracle, a full scan of
    every view, reads a byte-for-byte copy of that lake on disk: the same files give the same rows
    wherever they lie, and the full scan over the loopback server cost a minute of this test."""
    monkeypatch.setattr(history, "HORIZON_DAYS", 4)
    settings = build(f"s3://{bucket}/trail", f"s3://{bucket}/lake")
    assert history.checkpoints(open_store(settings.lake))
    s3.invalidate_cache()
    s3.get(f"{bucket}/lake/", str(tmp_path / "lake"), recursive=True)
    assert sorted(p.relative_to(tmp_path / "lake").as_posix() for p in (tmp_path / "lake").rglob("*") if p.is_file()) == sorted(
        f.removeprefix(f"{bucket}/lake/") for f in s3.find(f"{bucket}/lake"))  # the whole lake came down
    # the checkpoint, two dates rolled forward, two summarized
    assert_same_as_whole_lake(settings.lake, DAYS[-2].isoformat(), whole_lake=str(tmp_path / "lake"))
