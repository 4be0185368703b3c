"""The parameters that point each cookbook query (sql/cookbook/) at the sample's story (data/): its
defaults are relative to today, the sample's days are 2026-11-01 to 2026-11-03. One declaration for
the tests that run the cookbook (DuckDB, Spark, the `sql` command), and what docs/analysts.md shows."""

from __future__ import annotations

from pathlib import Path

from flows.query.dialects import SQL
from flows.query.params import bound

WINDOW = {"first_day": "2026-11-01", "last_day": "2026-11-03"}
SAMPLE_PARAMS: dict[str, dict[str, str]] = {
    "01_who_changed_record": {"record_name": "WWW.example.com", **WINDOW},  # typed as a person would: no dot, capitals
    "02_deletes_in_zone": {"zone": "example.com."},
    "10_risky_changes": WINDOW,
    "13_days_without_logs": {"first_day": "2026-10-31", "last_day": "2026-11-04"},
    "14_zone_at_point_in_time": {"zone": "example.com", "as_of": "2026-11-02 12:00:00+00"},
    "15_zones_changed_today": {"day": "2026-11-02"},
    # the sample has no VPC association and no health check in use: these two are run on the records of
    # tests/query/zone_family_records.py (2026-11-04), which tests/query/test_spark_sql.py adds to its lake
    "16_vpcs_resolving_zone": {"zone": "internal.example.com"},
    "17_health_checks_removed_in_use": {"first_day": "2026-11-01", "last_day": "2026-11-04"},
    "18_firewall_blocked_now_allowed": WINDOW,
}
# The Route 53 Resolver and DNS Firewall queries and views find nothing on the sample (its runs read
# route53.amazonaws.com in us-east-1); their rows are asserted on the built Resolver lake
# (tests/query/resolver_family_lake.py): in DuckDB by test_cookbook and test_resolver_family, in Spark by
# test_resolver_family. On the sample they still run, in every engine.
RESOLVER_COOKBOOK = {"18_firewall_blocked_now_allowed": {"first_day": "2026-11-09", "last_day": "2026-11-15"},
                     "19_domains_forwarded_outside": {}}

# The queries that find nothing on the sample itself (their rows are asserted on built lakes: the
# zone family's and the Resolver lake), and cookbook 12 (the sample's digest lists no missing file).
EMPTY_ON_THE_SAMPLE = {"12_digest_missing_files_per_week", "16_vpcs_resolving_zone", "17_health_checks_removed_in_use", *RESOLVER_COOKBOOK}

def cookbook_files() -> list[Path]:
    return sorted((SQL / "cookbook").glob("*.sql"))


def on_the_sample(path: Path, **override: str) -> str:
    """The query of `path` with the sample's parameters (and `override`) set, as DuckDB SQL."""
    (statement,) = bound(path.read_text(), {**SAMPLE_PARAMS.get(path.stem, {}), **override}, strict=True, what=path.name)
    return statement


def on_the_resolver_lake(path: Path, **override: str) -> str:
    """A Resolver query (RESOLVER_COOKBOOK) with the built Resolver lake's parameters (and `override`), as DuckDB SQL."""
    (statement,) = bound(path.read_text(), {**RESOLVER_COOKBOOK[path.stem], **override}, strict=True, what=path.name)
    return statement


def param_options(path: Path) -> list[str]:
    """The same parameters as `route53-lake sql` options."""
    return [f"--param={name}={value}" for name, value in SAMPLE_PARAMS.get(path.stem, {}).items()]
