"""The Route 53 Resolver and DNS Firewall views and their dns_risk rules, on a lake the pipeline wrote
from built records (tests/query/resolver_family_lake.py) in two regions other than us-east-1: each
view's rows, each rule on its cases and quiet on its near misses, failed attempts listed with applied
false, a real record of the corpus, and the same rows in Spark as in DuckDB."""

from __future__ import annotations

import os
import shutil

import pyarrow as pa
import pytest

from flows.query.dialects import SQL
from flows.query.duckdb_lake import RESOLVER_VIEWS, connect
from schemas.tables import TABLES
from tests.conftest import corpus_records, log_key, write_trail
from tests.query.cookbook_sample import RESOLVER_COOKBOOK, on_the_resolver_lake
from tests.query.resolver_family_lake import (
    DAY,
    REGIONS,
    RESOLVER_RULE_CASES,
    real_create_resolver_endpoint,
    run_cli,
)


def rows(con, sql: str) -> list[dict]:
    relation = con.sql(sql)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def by_event(con, view: str) -> dict[str, dict]:
    return {r["event_id"]: r for r in rows(con, f"select * from {view}")}


def test_every_resolver_rule_flags_exactly_its_cases(resolver_lake):
    found = rows(resolver_lake, f"select rule, event_id, applied from dns_risk where rule in {tuple(RESOLVER_RULE_CASES)}")
    flagged: dict[str, dict[str, bool]] = {}
    for r in found:
        flagged.setdefault(r["rule"], {})[r["event_id"]] = r["applied"]
    assert flagged == RESOLVER_RULE_CASES
    assert len(found) == sum(map(len, RESOLVER_RULE_CASES.values()))  # once each


@pytest.mark.parametrize(("rule", "event_id", "detail"), [
    ("resolver_forward_outside", "rr2", "FORWARD exfil.example.net. -> 10.0.0.11, 203.0.113.53 (public: 203.0.113.53) in eu-west-1"),
    ("resolver_forward_outside", "rr3", "FORWARD . -> 10.0.0.10 (a broad domain) in ap-southeast-2"),
    ("resolver_forward_outside", "rr9", "FORWARD corp.example.com. -> 198.51.100.7 (public: 198.51.100.7) associated with vpc-0aaa in eu-west-1"),
    ("firewall_block_to_allow", "fw9", "BLOCK rule deleted: block-rslvr-fdl-tmp (group rslvr-frg-1, domain list rslvr-fdl-tmp) in eu-west-1"),
    ("firewall_rule_group_detached", "fa3", "rule group rslvr-frg-1 detached from vpc-0aaa (association rslvr-frgassoc-1) in eu-west-1"),
    ("firewall_fail_open", "fc1", "fail open ENABLED for vpc-0aaa in eu-west-1"),
    ("firewall_domain_removed", "fd2", "REMOVE rslvr-fdl-bad: 1 domain(s): evil.example. in eu-west-1"),
    ("firewall_domain_removed", "fd4", "REPLACE rslvr-fdl-mal with the file s3://lists/mal.txt in eu-west-1"),
])
def test_the_detail_says_what_changed(resolver_lake, rule, event_id, detail):
    (row,) = rows(resolver_lake, f"select * from dns_risk where rule = '{rule}' and event_id = '{event_id}'")
    assert row["detail"] == detail
    assert row["severity"] in ("high", "medium") and row["event_source"] == "route53resolver.amazonaws.com"


def test_a_failed_attempt_is_listed_with_its_error_and_who_tried(resolver_lake):
    (row,) = rows(resolver_lake, "select * from dns_risk where rule = 'resolver_forward_outside' and not applied")
    assert (row["event_id"], row["error_code"], row["actor_person"], row["domain_name"]) == (
        "rr7", "AccessDeniedException", "mallory", "internal.example.org.")
    assert "8.8.8.8" in row["detail"]  # what it asked for, not what the rule kept


def test_resolver_rules_say_domain_type_targets_and_associations(resolver_lake):
    got = by_event(resolver_lake, "resolver_rules")
    assert set(got) == {f"rr{i}" for i in range(1, 14)}
    assert [(got["rr1"][c]) for c in ("change", "domain_name", "rule_type", "target_ips", "public_target_ips", "resolver_endpoint_id")] == [
        "CREATE", "corp.example.com.", "FORWARD", ["10.0.0.10", "100.64.0.53", "fd00::53"], [], "rslvr-out-1"]
    assert (got["rr3"]["region"], got["rr4"]["rule_type"], got["rr4"]["target_ips"]) == ("ap-southeast-2", "SYSTEM", None)
    assert {e for e, r in got.items() if r["forwards_outside"]} == {"rr2", "rr3", "rr6", "rr7", "rr9", "rr10", "rr11", "rr13"}
    # an update of the targets only: the domain from the response (the whole rule after the call)
    assert (got["rr6"]["domain_name"], got["rr6"]["target_ips"], got["rr6"]["public_target_ips"]) == (
        "corp.example.com.", ["198.51.100.7"], ["198.51.100.7"])
    # a failed update: what it asked for, the rest as the last applied call left the rule
    assert (got["rr7"]["applied"], got["rr7"]["target_ips"], got["rr7"]["rule_name"], got["rr7"]["domain_name"]) == (
        False, ["8.8.8.8"], "rule-rr5", "internal.example.org.")
    assert got["rr8"]["target_ips"] == ["172.20.0.2", "192.168.1.53", "169.254.169.253"] and got["rr8"]["rule_name"] == "renamed"
    associate, dissociate = got["rr9"], got["rr10"]
    assert [(r["change"], r["vpc_id"], r["association_id"], r["actor_person"]) for r in (associate, dissociate)] == [
        ("ASSOCIATE", "vpc-0aaa", "rslvr-rrassoc-1", "carol"), ("DISASSOCIATE", "vpc-0aaa", "rslvr-rrassoc-1", "carol")]
    assert associate["association_name"] == "corp-in-app" and associate["domain_name"] == "corp.example.com."
    assert (got["rr11"]["change"], got["rr11"]["domain_name"]) == ("DELETE", "exfil.example.net.")
    null_request = got["rr12"]  # requestParameters and responseElements null: the call is still there
    assert (null_request["applied"], null_request["resolver_rule_id"], null_request["request_parameters"]) == (False, None, None)


def test_resolver_endpoints_say_direction_addresses_and_security_groups(resolver_lake):
    got = by_event(resolver_lake, "resolver_endpoints")
    assert [got[e]["change"] for e in ("ep1", "ep2", "ep3", "ep4", "ep5")] == ["CREATE", "UPDATE", "ADD_IP", "CREATE", "DELETE"]
    create = got["ep1"]
    assert (create["direction"], create["host_vpc_id"], create["security_group_ids"], create["ip_addresses"], create["subnet_ids"],
            create["ip_address_count"]) == ("OUTBOUND", "vpc-0aaa", ["sg-0001", "sg-0002"], ["10.0.0.5"], ["subnet-01", "subnet-02"], 2)
    assert (got["ep2"]["endpoint_name"], got["ep3"]["ip_addresses"], got["ep3"]["subnet_ids"]) == ("outbound-main", ["10.0.2.5"], ["subnet-03"])
    failed = got["ep4"]  # responseElements null: what it asked for
    assert (failed["applied"], failed["error_code"], failed["direction"], failed["security_group_ids"], failed["resolver_endpoint_id"],
            failed["region"]) == (False, "LimitExceededException", "INBOUND", ["sg-0009"], None, "ap-southeast-2")


def test_firewall_rules_have_the_action_before_and_after(resolver_lake):
    got = by_event(resolver_lake, "firewall_rules")
    assert {e: (got[e]["change"], got[e]["before_action"], got[e]["after_action"]) for e in got} == {
        "fw0": ("CREATE", None, "BLOCK"), "fw1": ("CREATE", None, "BLOCK"), "fw2": ("CREATE", None, "BLOCK"),
        "fw3": ("CREATE", None, "ALERT"), "fw4": ("CREATE", None, "BLOCK"),
        "fw5": ("UPDATE", "BLOCK", "ALLOW"), "fw6": ("UPDATE", "BLOCK", "ALERT"),
        "fw7": ("UPDATE", "BLOCK", "ALLOW"),  # failed: what it asked for
        "fw8": ("UPDATE", "ALERT", "ALERT"), "fw9": ("DELETE", "BLOCK", None), "fw10": ("DELETE", "ALERT", None),
        "fw11": ("UPDATE", None, None),  # requestParameters null
        "fw12": ("UPDATE", "BLOCK", "ALLOW"),  # created a week before
    }
    assert (got["fw1"]["priority"], got["fw1"]["block_response"], got["fw1"]["firewall_domain_list_id"]) == (100, "NXDOMAIN", "rslvr-fdl-bad")
    assert (got["fw8"]["priority"], got["fw7"]["applied"], got["fw7"]["priority"]) == (350, False, 400)


def test_firewall_rule_group_associations_say_which_vpcs_and_since_when(resolver_lake):
    got = by_event(resolver_lake, "firewall_rule_group_associations")
    assert {e: (r["change"], r["firewall_rule_group_id"], r["vpc_id"], r["mutation_protection"], r["applied"]) for e, r in got.items()} == {
        "fa1": ("ASSOCIATE", "rslvr-frg-1", "vpc-0aaa", "DISABLED", True),
        "fa2": ("UPDATE", "rslvr-frg-1", "vpc-0aaa", "ENABLED", True),
        "fa3": ("DISASSOCIATE", "rslvr-frg-1", "vpc-0aaa", "ENABLED", True),
        "fa4": ("DISASSOCIATE", None, None, None, False),  # an association the lake never saw, and the call failed
    }


def test_firewall_changes_hold_configs_and_domain_list_updates(resolver_lake):
    got = by_event(resolver_lake, "firewall_changes")
    assert {e: (r["kind"], r["operation"], r["firewall_fail_open"], r["domain_count"]) for e, r in got.items()} == {
        "fdo": ("domain_list", "CREATE", None, None), "fc1": ("config", None, "ENABLED", None), "fc2": ("config", None, "DISABLED", None), "fc3": ("config", None, "ENABLED", None),
        "fd0": ("domain_list", "CREATE", None, None), "fd1": ("domain_list", "ADD", None, 2), "fd2": ("domain_list", "REMOVE", None, 1),
        "fd3": ("domain_list", "REPLACE", None, 1), "fd4": ("domain_list", "REPLACE", None, None),
        "fd5": ("domain_list", "REMOVE", None, 1), "fd6": ("domain_list", "DELETE", None, None),
        "fd7": ("domain_list", "REMOVE", None, 2),
    }
    assert (got["fd1"]["domains"], got["fd1"]["firewall_domain_list_id"], got["fd0"]["domain_list_name"]) == (
        ["evil.example.", "*.malware.example."], "rslvr-fdl-bad", "bad-domains")
    assert (got["fc1"]["resource_id"], got["fd4"]["domain_file_url"], got["fc3"]["region"]) == ("vpc-0aaa", "s3://lists/mal.txt", "ap-southeast-2")


def test_the_real_create_resolver_endpoint_reads_through_its_view(tmp_path):
    record = real_create_resolver_endpoint()  # the AWS guide's record: us-west-2, 2018-11-01, eventVersion 1.05
    trail = write_trail(tmp_path / "trail", {log_key("111122223333", "2018-11-01", region="us-west-2"): [record]})
    con = connect(str(run_cli(trail, tmp_path / "lake", "2018-11-01", "2018-11-01", ("us-west-2",))))
    (row,) = rows(con, "select * from resolver_endpoints")
    assert (row["change"], row["resolver_endpoint_id"], row["direction"], row["host_vpc_id"], row["security_group_ids"],
            row["subnet_ids"], row["ip_addresses"], row["ip_address_count"], row["region"], row["applied"]) == (
        "CREATE", "rslvr-out-1f4031f1f5example", "OUTBOUND", "vpc-0de29124example", ["sg-05618b249example"],
        ["subnet-01cb0c4676example", "subnet-0534819b32example"], [], 2, "us-west-2", True)
    assert con.sql("select count(*) from dns_risk").fetchall() == [(0,)]


def test_the_real_stratus_red_team_delete_resolver_query_log_config_is_flagged(tmp_path):
    """Stratus Red Team's record (tests/corpus/real/; its region anonymised): query_logging_disabled, as before."""
    (record,) = corpus_records("DataDog_stratus-red-team.json")
    trail = write_trail(tmp_path / "trail", {log_key(record["recipientAccountId"], "2024-07-31", region="us-west-2"): [record]})
    con = connect(str(run_cli(trail, tmp_path / "lake", "2024-07-31", "2024-07-31", ("us-west-2",))))
    assert rows(con, "select rule, applied, actor_person, event_name from dns_risk") == [
        {"rule": "query_logging_disabled", "applied": True, "actor_person": "christophe", "event_name": "DeleteResolverQueryLogConfig"}]


def test_every_resolver_view_holds_rows_in_both_regions(resolver_lake):
    for view in RESOLVER_VIEWS:
        regions = {r for (r,) in resolver_lake.sql(f"select distinct region from {view}").fetchall()}
        assert regions == set(REGIONS), view


@pytest.fixture(scope="module")
def spark(resolver_lake_path, tmp_path_factory):
    from flows.query.duckdb_lake import setup_sql
    from tests.query.spark_local import define, local_spark

    session = local_spark("route53-lake-resolver", tmp_path_factory.mktemp("warehouse"))
    for table in TABLES:  # Spark refuses a table whose folder is missing: this lake has no record changes, nor quarantine
        (resolver_lake_path / table).mkdir(exist_ok=True)
    try:
        define(session, setup_sql("spark", str(resolver_lake_path)))
        yield session
    finally:
        session.stop()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("CI"), reason="no java on PATH: Spark SQL needs Java 17+")
@pytest.mark.parametrize("view", [*RESOLVER_VIEWS, "dns_risk"])
def test_every_resolver_view_has_the_same_rows_in_spark_as_in_duckdb(spark, resolver_lake, view):
    from tests.query.test_spark_sql import duck_rows, spark_rows

    where = "" if view != "dns_risk" else f" where rule in {tuple(RESOLVER_RULE_CASES)}"
    expected = duck_rows(resolver_lake, f"select * from {view}{where}")
    assert expected
    assert sorted(spark_rows(spark, f"select * from {view}{where}"), key=repr) == sorted(expected, key=repr)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("CI"), reason="no java on PATH: Spark SQL needs Java 17+")
@pytest.mark.parametrize("stem", sorted(RESOLVER_COOKBOOK))
def test_every_resolver_cookbook_query_gives_the_same_rows_in_the_same_order_in_spark(spark, resolver_lake, stem):
    from tests.query.test_spark_sql import duck_rows, spark_rows

    text = on_the_resolver_lake(SQL / "cookbook" / f"{stem}.sql")
    expected = duck_rows(resolver_lake, text)
    assert expected
    assert spark_rows(spark, text) == expected


@pytest.mark.parametrize("view", list(RESOLVER_VIEWS.values()), ids=lambda v: v.name)
def test_the_data_dictionary_declares_each_views_columns_in_order_with_their_types(resolver_lake, view):
    from schemas.docs import type_name

    def named(type_) -> str:  # DuckDB names a list's item field "l"
        return type_name(pa.list_(type_.value_type) if pa.types.is_list(type_) else type_)

    given = resolver_lake.sql(f"select * from {view.name} limit 0").fetch_arrow_table().schema
    assert [(f.name, named(f.type)) for f in given] == [(c.name, named(c.type)) for c in view.columns]
    assert set(view.key) <= {c.name for c in view.columns}
    assert resolver_lake.sql(f"select count(*) = count(distinct event_id) from {view.name}").fetchall() == [(True,)]  # the key


def test_a_nights_summary_sees_the_state_the_calls_of_earlier_days_left(resolver_lake_path, resolver_lake):
    """The summary of DAY reads DAY's partition and the kept rows of the days before (flows/query/history.py):
    fw12 turns into ALLOW a rule that blocked since WEEK_AGO, and the night must know it blocked."""
    from flows.query import history

    night = history.summary_connection(str(resolver_lake_path), [DAY])
    try:
        for view in (*RESOLVER_VIEWS, "dns_risk"):
            query = f"select * from {view} where event_date >= '{DAY}'"
            assert sorted(map(repr, night.sql(query).fetchall())) == sorted(map(repr, resolver_lake.sql(query).fetchall())), view
        assert ("firewall_block_to_allow", "fw12") in night.sql("select rule, event_id from dns_risk").fetchall()
    finally:
        night.close()
