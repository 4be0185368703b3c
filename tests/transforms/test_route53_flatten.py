"""Records -> events, record_changes, quarantine: the seed, the real corpus, and every shape from
CLOUDTRAIL_FACTS.md section 8, one named test each."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime

import pytest

from tests.conftest import CORPUS, DATA, corpus_records
from transforms.errors import ErrorKind
from transforms.route53.reference import flatten_records
from transforms.route53.rows import Flattened
from transforms.times import TimeWindow

DAY = date(2026, 11, 1)
ALL_ROUTE53 = frozenset({
    "route53.amazonaws.com", "route53domains.amazonaws.com", "route53resolver.amazonaws.com",
})


def flatten(records, sources=frozenset({"route53.amazonaws.com"})) -> Flattened:
    return flatten_records(records, source_file="s3://trail/f.json.gz", delivery_date=DAY, event_sources=sources)


def change(**rrset) -> dict:
    return {"action": rrset.pop("action", "CREATE"), "resourceRecordSet": {"name": "a.example.com.", "type": "A", **rrset}}


def crrs(*changes, **overrides) -> dict:
    """A ChangeResourceRecordSets record as CloudTrail writes it."""
    record = {
        "eventVersion": "1.08", "eventTime": "2026-11-01T10:00:00Z", "eventSource": "route53.amazonaws.com",
        "eventName": "ChangeResourceRecordSets", "awsRegion": "us-east-1", "eventID": "e-1",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice"},
        "requestParameters": {"hostedZoneId": "Z0001", "changeBatch": {"changes": list(changes)}},
        "responseElements": {"changeInfo": {"id": "/change/C1", "status": "PENDING", "submittedAt": "Nov 1, 2026 10:00:00 AM"}},
    }
    record.update(overrides)
    return record


def only_change(record) -> dict:
    flat = flatten([record])
    assert flat.quarantine.num_rows == 0, flat.quarantine.to_pylist()
    rows = flat.record_changes.to_pylist()
    assert len(rows) == 1
    return rows[0]


def quarantined(record, sources=frozenset({"route53.amazonaws.com"})) -> dict:
    flat = flatten([record], sources)
    assert flat.events.num_rows == 0 and flat.record_changes.num_rows == 0
    (row,) = flat.quarantine.to_pylist()
    return row


# ------------------------------------------------------------------ the seed and the corpus

def test_seed_example_gives_four_events_and_two_changes():
    seed = json.loads((DATA / "seed" / "route53-developer-guide-example.json").read_text())
    flat = flatten(seed["Records"])
    events = {e["event_name"]: e for e in flat.events.to_pylist()}
    assert sorted(events) == ["ChangeResourceRecordSets", "CreateHealthCheck", "DeleteHostedZone", "ListHostedZones"]
    change_event = events["ChangeResourceRecordSets"]
    assert change_event["hosted_zone_id"] == "Z1PA6795UKMFR9"
    assert change_event["change_id"] == "C156SRE0X2ZB10"
    assert change_event["change_submitted_at"] == datetime(2015, 1, 16, 0, 41, 43, tzinfo=UTC)
    assert change_event["user_identity_arn"] == "arn:aws:iam::111122223333:user/smithj"
    assert change_event["change_count"] == 2 and change_event["change_comment"] == "Adding subdomains"
    assert events["DeleteHostedZone"]["hosted_zone_id"] == "Z1PA6795UKMFR9"
    assert events["CreateHealthCheck"]["health_check_id"] == "b3c9cbc6-cd18-43bc-93f8-9e557example"
    rows = flat.record_changes.to_pylist()
    assert [(r["record_name"], r["ttl"], r["action"], r["record_type"]) for r in rows] == [
        ("prod.example.com.", 300, "CREATE", "A"), ("test.example.com.", 300, "CREATE", "A")]
    assert all(r["resource_records"] == ["192.0.1.1", "192.0.1.2", "192.0.1.3", "192.0.1.4"] for r in rows)
    assert {r["user_identity_arn"] for r in rows} == {"arn:aws:iam::111122223333:user/smithj"}
    assert flat.quarantine.num_rows == 0


CORPUS_EXPECTATIONS = {
    # file: (records, route53* records kept with all three sources selected, change rows)
    "awsdocs_amazon-route53-docs.json": (6, 6, 2),
    "awsdocs_aws-cloudtrail-user-guide.json": (4, 0, 0),
    "DataDog_stratus-red-team.json": (1, 1, 0),
    "panther-labs_panther-analysis.json": (1, 1, 0),
    "cloud-custodian_cloud-custodian.json": (1, 1, 1),
    "kartiksharma1205_Security_upramp_Writeups.json": (3, 2, 0),
    "unidentified-repo_certbot-notes.json": (1, 1, 1),
}


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTATIONS))
def test_every_real_corpus_file_flattens_without_quarantine(name):
    records = corpus_records(name)
    flat = flatten(records, ALL_ROUTE53)
    n_records, n_events, n_changes = CORPUS_EXPECTATIONS[name]
    assert (flat.records_read, flat.events.num_rows, flat.record_changes.num_rows) == (n_records, n_events, n_changes)
    assert flat.quarantine.num_rows == 0
    assert flat.selected == flat.events.num_rows


def test_corpus_index_covers_every_corpus_file():
    files = {p.name for p in CORPUS.glob("*.json")} - {"awsdocs_aws-cloudtrail-user-guide_digest.json"}
    assert files == set(CORPUS_EXPECTATIONS)


def test_panther_space_separated_nanosecond_time_parses():
    (event,) = flatten(corpus_records("panther-labs_panther-analysis.json"), ALL_ROUTE53).events.to_pylist()
    assert event["event_time"] == datetime(2024, 11, 27, 18, 18, 58, tzinfo=UTC)
    assert event["session_issuer_user_name"] == "SampleRole" and event["session_mfa_authenticated"] is False
    assert event["session_creation_date"] == datetime(2024, 11, 27, 18, 17, 21, tzinfo=UTC)
    assert json.loads(event["extra"])["p_log_type"] == "AWS.CloudTrail"  # unknown top-level keys are kept


def test_route53domains_lower_case_event_name_and_string_additional_data():
    records = [r for r in corpus_records("awsdocs_amazon-route53-docs.json") if r["eventSource"].startswith("route53domains")]
    (event,) = flatten(records, ALL_ROUTE53).events.to_pylist()
    assert event["event_name"] == "updateDomainContact"
    assert isinstance(json.loads(event["additional_event_data"]), str)
    assert json.loads(event["request_parameters"]) == {"domainName": {"name": "example.com"}}


def test_route53domains_is_not_kept_unless_selected():
    records = corpus_records("awsdocs_amazon-route53-docs.json")
    assert {e["event_source"] for e in flatten(records).events.to_pylist()} == {"route53.amazonaws.com"}


def test_access_denied_without_parameters_is_an_event_with_its_error():
    records = corpus_records("kartiksharma1205_Security_upramp_Writeups.json")
    (event,) = flatten(records).events.to_pylist()
    assert event["error_code"] == "AccessDenied" and "not authorized" in event["error_message"]
    assert event["request_parameters"] is None and event["change_count"] is None
    assert event["tls_version"] == "TLSv1.2"


# ------------------------------------------------------------------ casing and shape variations

@pytest.mark.parametrize("key", ["tTL", "TTL", "ttl", "Ttl"])
def test_ttl_key_is_matched_in_any_case(key):
    assert only_change(crrs(change(**{key: 60}, resourceRecords=[{"value": "192.0.2.1"}])))["ttl"] == 60


def test_pascal_case_alias_target_keys_are_read():
    row = only_change(crrs(change(aliasTarget={"HostedZoneId": "Z2FD", "DNSName": "d1.cloudfront.net.", "EvaluateTargetHealth": False})))
    assert (row["alias_hosted_zone_id"], row["alias_dns_name"], row["alias_evaluate_target_health"]) == ("Z2FD", "d1.cloudfront.net.", False)


def test_alias_record_has_no_values_and_no_ttl():
    row = only_change(crrs(change(aliasTarget={"hostedZoneId": "Z2FD", "dNSName": "x.elb.amazonaws.com.", "evaluateTargetHealth": True})))
    assert row["resource_records"] is None and row["ttl"] is None and row["alias_evaluate_target_health"] is True


def test_hostedzone_prefix_is_stripped():
    record = crrs(change(tTL=1, resourceRecords=[]))
    record["requestParameters"]["hostedZoneId"] = "/hostedzone/Z3U1111222111"
    assert only_change(record)["hosted_zone_id"] == "Z3U1111222111"


def test_empty_user_identity_gives_null_actor_columns():
    row = only_change(crrs(change(tTL=1, resourceRecords=[]), userIdentity={}))
    assert row["user_identity_type"] is None and row["user_identity_arn"] is None


def test_empty_session_issuer_is_not_an_error():
    identity = {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {}, "attributes": {}}}
    row = only_change(crrs(change(tTL=1, resourceRecords=[]), userIdentity=identity))
    assert row["session_issuer_arn"] is None and row["user_identity_type"] == "AssumedRole"


def test_event_name_and_source_compare_case_insensitively():
    record = crrs(change(tTL=1, resourceRecords=[]), eventSource="Route53.AmazonAWS.com")
    flat = flatten([record])
    assert flat.events.num_rows == 1 and flat.events["event_source"][0].as_py() == "route53.amazonaws.com"


def test_typo_event_source_is_not_route53():
    assert flatten([crrs(eventSource="route_53.amazonaws.com")]).selected == 0


def test_failed_call_keeps_change_rows_flagged_with_its_error():
    record = crrs(change(tTL=60, resourceRecords=[{"value": "192.0.2.1"}]), errorCode="InvalidChangeBatch",
                  errorMessage="already exists", responseElements=None)
    row = only_change(record)
    assert row["error_code"] == "InvalidChangeBatch"
    (event,) = flatten([record]).events.to_pylist()
    assert event["change_id"] is None and event["response_elements"] is None


def test_weighted_failover_geo_latency_multivalue_fields():
    changes = [
        change(setIdentifier="blue", weight=0, tTL=60, resourceRecords=[{"value": "192.0.2.1"}]),
        change(setIdentifier="p", failover="PRIMARY", healthCheckId="hc-1", tTL=60, resourceRecords=[{"value": "192.0.2.2"}]),
        change(setIdentifier="eu", geoLocation={"continentCode": "EU"}, tTL=60, resourceRecords=[{"value": "192.0.2.3"}]),
        change(setIdentifier="ca", geoLocation={"countryCode": "US", "subdivisionCode": "CA"}, tTL=60, resourceRecords=[]),
        change(setIdentifier="def", geoLocation={"countryCode": "*"}, tTL=60, resourceRecords=[]),
        change(setIdentifier="fra", region="eu-central-1", tTL=60, resourceRecords=[]),
        change(setIdentifier="m1", multiValueAnswer=True, tTL=60, resourceRecords=[]),
        change(setIdentifier="c", cidrRoutingConfig={"collectionId": "col", "locationName": "office"}, tTL=60, resourceRecords=[]),
        change(setIdentifier="g", geoProximityLocation={"coordinates": {"latitude": "49.22", "longitude": "-74.01"}, "bias": 10},
               tTL=60, resourceRecords=[]),
    ]
    rows = flatten([crrs(*changes)]).record_changes.to_pylist()
    assert [r["change_index"] for r in rows] == list(range(9))
    assert rows[0]["weight"] == 0
    assert (rows[1]["failover"], rows[1]["health_check_id"]) == ("PRIMARY", "hc-1")
    assert rows[2]["geo_continent_code"] == "EU"
    assert (rows[3]["geo_country_code"], rows[3]["geo_subdivision_code"]) == ("US", "CA")
    assert rows[4]["geo_country_code"] == "*"
    assert rows[5]["region"] == "eu-central-1"
    assert rows[6]["multi_value_answer"] is True
    assert (rows[7]["cidr_collection_id"], rows[7]["cidr_location_name"]) == ("col", "office")
    assert (rows[8]["geoproximity_latitude"], rows[8]["geoproximity_longitude"], rows[8]["geoproximity_bias"]) == (49.22, -74.01, 10)
    assert all(r["batch_size"] == 9 and r["extra"] is None for r in rows)


def test_txt_values_keep_their_quotes():
    row = only_change(crrs(change(type="TXT", tTL=300, resourceRecords=[{"value": '"v=spf1 -all"'}])))
    assert row["resource_records"] == ['"v=spf1 -all"']


@pytest.mark.parametrize(("sent", "normalized"), [
    ("\\052.Example.COM", "*.example.com."),
    ("*.example.com.", "*.example.com."),
    ("WWW.example.com", "www.example.com."),
    ("xn--bcher-kva.example.", "xn--bcher-kva.example."),
])
def test_record_name_is_normalized_but_kept_as_sent(sent, normalized):
    row = only_change(crrs(change(name=sent, tTL=1, resourceRecords=[])))
    assert (row["record_name"], row["record_name_normalized"]) == (sent, normalized)


def test_unknown_keys_go_to_extra_not_lost():
    new = change(tTL=1, resourceRecords=[], aZAffinity={"locationType": "az"}, aliasTarget={"hostedZoneId": "Z", "futureKey": 1})
    new["changeLevelNew"] = "x"
    assert json.loads(only_change(crrs(new))["extra"]) == {
        "aZAffinity": {"locationType": "az"}, "aliasTarget.futureKey": 1, "change.changeLevelNew": "x"}


def test_numbers_written_as_strings_are_read_as_numbers():
    row = only_change(crrs(change(tTL="300", weight="5", setIdentifier="x", resourceRecords=[{"value": "192.0.2.1"}])))
    assert (row["ttl"], row["weight"]) == (300, 5)


def test_account_id_written_as_a_number_is_kept_as_text():
    flat = flatten([crrs(recipientAccountId=123456789012)])
    assert flat.events["recipient_account_id"][0].as_py() == "123456789012"


def test_event_without_event_id_gets_a_stable_synthetic_id():
    record = crrs(change(tTL=1, resourceRecords=[]), eventVersion="1.0")
    del record["eventID"]
    first, again = flatten([record]), flatten([copy.deepcopy(record)])
    event_id = first.events["event_id"][0].as_py()
    assert event_id.startswith("synthetic:") and event_id == again.events["event_id"][0].as_py()
    other = copy.deepcopy(record)
    other["eventTime"] = "2026-11-01T10:00:01Z"
    assert flatten([other]).events["event_id"][0].as_py() != event_id


def test_insight_records_without_event_source_are_skipped_not_quarantined():
    flat = flatten([{"eventType": "AwsCloudTrailInsight", "eventCategory": "Insight", "insightDetails": {}}])
    assert (flat.records_read, flat.selected, flat.quarantine.num_rows) == (1, 0, 0)


def test_submitted_at_12_hour_clock():
    record = crrs(change(tTL=1, resourceRecords=[]))
    record["responseElements"]["changeInfo"]["submittedAt"] = "Jan 6, 2020 6:50:43 PM"
    assert flatten([record]).events["change_submitted_at"][0].as_py() == datetime(2020, 1, 6, 18, 50, 43, tzinfo=UTC)


def test_submitted_at_midnight_is_hour_zero():
    record = crrs(change(tTL=1, resourceRecords=[]))
    record["responseElements"]["changeInfo"]["submittedAt"] = "Jan 16, 2015 12:41:43 AM"
    assert flatten([record]).events["change_submitted_at"][0].as_py() == datetime(2015, 1, 16, 0, 41, 43, tzinfo=UTC)


def test_event_time_with_offset_is_converted_to_utc():
    flat = flatten([crrs(eventTime="2026-11-01T23:30:00+02:00")])
    assert flat.events["event_time"][0].as_py() == datetime(2026, 11, 1, 21, 30, tzinfo=UTC)


# ------------------------------------------------------------------ record-level quarantine

def test_record_that_is_not_an_object_is_quarantined_with_its_position():
    flat = flatten([crrs(), "just a string", crrs(eventID="e-2")])
    assert flat.events.num_rows == 2
    (row,) = flat.quarantine.to_pylist()
    assert (row["record_index"], row["error_kind"], row["raw"]) == (1, "record_not_object", '"just a string"')


@pytest.mark.parametrize(("field", "value", "kind", "words"), [
    ("eventTime", None, ErrorKind.MISSING_FIELD, "eventTime is missing"),
    ("eventTime", "yesterday", ErrorKind.BAD_TIMESTAMP, "'yesterday'"),
    ("eventTime", "2026-02-30T00:00:00Z", ErrorKind.BAD_TIMESTAMP, "not a valid time"),
    ("eventTime", 1730000000, ErrorKind.BAD_FIELD_TYPE, "eventTime: expected timestamp string, found number"),
    ("eventTime", "2026-11-01T10:00:00+99:99", ErrorKind.IMPLAUSIBLE_TIME, "offset +99:99"),
    ("eventTime", "2026-11-01T10:00:00+18:01", ErrorKind.IMPLAUSIBLE_TIME, "within ±18:00"),
    ("eventTime", "0001-01-01T00:00:00+01:00", ErrorKind.IMPLAUSIBLE_TIME, "outside the calendar"),
    ("eventTime", "9999-12-31T23:59:59-01:00", ErrorKind.IMPLAUSIBLE_TIME, "outside the calendar"),
    ("eventTime", "0001-01-01T00:00:00Z", ErrorKind.IMPLAUSIBLE_TIME, "before CloudTrail existed"),
    ("eventTime", "2013-10-31T23:59:59Z", ErrorKind.IMPLAUSIBLE_TIME, "before CloudTrail existed"),
    ("eventName", None, ErrorKind.MISSING_FIELD, "eventName is missing"),
    ("eventName", {"name": "x"}, ErrorKind.BAD_FIELD_TYPE, "eventName: expected string, found object"),
    ("eventName", "Change\ud800", ErrorKind.INVALID_UNICODE, "eventName: text that is not valid Unicode"),
    ("eventSource", ["route53.amazonaws.com"], ErrorKind.BAD_FIELD_TYPE, "eventSource: expected string, found array"),
])
def test_record_that_cannot_be_identified_or_placed_is_quarantined(field, value, kind, words):
    record = crrs(change(tTL=1, resourceRecords=[]))
    record[field] = value
    row = quarantined(record)
    assert row["error_kind"] == kind and words in row["error_message"], row["error_message"]
    assert row["record_index"] == 0 and json.loads(row["raw"].encode("utf-8")) == record


def test_event_time_more_than_a_day_after_now_is_implausible():
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    records = [crrs(eventID="ok", eventTime="2026-11-03T11:59:59Z"), crrs(eventID="late", eventTime="2026-11-03T12:00:01Z")]
    flat = flatten_records(records, source_file="f", delivery_date=DAY, window=TimeWindow.until(now))
    assert flat.events["event_id"].to_pylist() == ["ok"]
    assert flat.quarantine.to_pylist()[0]["error_kind"] == "implausible_time"


# Fields that neither identify nor place a record: the record is published, the column is null,
# parse_warnings says what was found, and the value is kept (in extra, or in its JSON column).
SET_ASIDE = [
    ("userAgent", {"tool": "x"}, "user_agent", 'userAgent: expected string, found object {"tool":"x"}', "extra"),
    ("userIdentity", "alice", "user_identity_type", 'userIdentity: expected object, found string "alice"', "extra"),
    ("readOnly", "maybe", "read_only", 'readOnly: expected boolean, found string "maybe"', "extra"),
    ("tlsDetails", ["TLSv1.2"], "tls_version", "tlsDetails: expected object, found array [\"TLSv1.2\"]", "extra"),
    ("recipientAccountId", 1e300, "recipient_account_id", None, None),  # a number is read as its text
    ("userAgent", "aws-cli\ud800", "user_agent", "userAgent: text that is not valid Unicode ('aws-cli\\ud800')", "extra"),
    ("eventID", {"id": 1}, "event_id", 'eventID: expected string, found object {"id":1}', "extra"),
]


@pytest.mark.parametrize(("field", "value", "column", "warning", "kept"), SET_ASIDE, ids=[f"{c[0]}-{type(c[1]).__name__}" for c in SET_ASIDE])
def test_a_field_that_cannot_be_read_is_null_and_named_and_the_record_published(field, value, column, warning, kept):
    record = crrs(change(tTL=1, resourceRecords=[]))
    record[field] = value
    flat = flatten([record])
    assert flat.quarantine.num_rows == 0 and flat.record_changes.num_rows == 1
    (event,) = flat.events.to_pylist()
    if warning is None:
        assert event["parse_warnings"] is None
        return
    assert event["parse_warnings"] == [warning]
    assert event[column] is None or column == "event_id" and event[column].startswith("synthetic:")
    extra = json.loads(event[kept].encode("utf-8", "surrogatepass").decode("utf-8"))
    assert extra[field] == value


@pytest.mark.parametrize(("where", "value", "column", "words"), [
    ("submittedAt", "next Tuesday", "change_submitted_at", "'next Tuesday' is not an ISO-8601"),
    ("submittedAt", "9999-12-31T23:59:59-05:00", "change_submitted_at", "outside the calendar"),
    ("submittedAt", "Nov 1, 2026 10:00:00 AM +99:99", "change_submitted_at", "is not an ISO-8601"),
    ("submittedAt", "2012-01-01T00:00:00Z", "change_submitted_at", "before CloudTrail existed"),
    ("creationDate", "0001-01-01T00:00:00+05:00", "session_creation_date", "outside the calendar"),
    ("creationDate", {"at": 1}, "session_creation_date", "expected timestamp string, found object"),
])
def test_an_unreadable_or_implausible_secondary_time_is_null_and_named(where, value, column, words):
    record = crrs(change(tTL=1, resourceRecords=[]))
    if where == "submittedAt":
        record["responseElements"]["changeInfo"]["submittedAt"] = value
    else:
        record["userIdentity"]["sessionContext"] = {"attributes": {"creationDate": value}}
    flat = flatten([record])
    (event,) = flat.events.to_pylist()
    assert flat.quarantine.num_rows == 0 and event[column] is None
    (warning,) = event["parse_warnings"]
    assert warning.split(":")[0].endswith(where) and words in warning, warning
    if where == "submittedAt":  # kept in its JSON column
        assert json.loads(event["response_elements"])["changeInfo"]["submittedAt"] == value
    else:
        assert json.loads(event["extra"]) == {"userIdentity.sessionContext.attributes.creationDate": value}


@pytest.mark.parametrize(("written", "expected"), [
    ("May 1, 2024, 12:06:12 AM", datetime(2024, 5, 1, 0, 6, 12, tzinfo=UTC)),  # JDK 9+: comma after the year
    ("May 1, 2024 12:06:12 AM", datetime(2024, 5, 1, 0, 6, 12, tzinfo=UTC)),  # JDK 8
    ("May 1, 2024, 12:06:12\u202fPM", datetime(2024, 5, 1, 12, 6, 12, tzinfo=UTC)),  # JDK 20+: narrow no-break space
    ("May 1, 2024, 1:06:12\u00a0PM", datetime(2024, 5, 1, 13, 6, 12, tzinfo=UTC)),  # a no-break space
    ("Sep 30, 2024, 11:59:59 pm", datetime(2024, 9, 30, 23, 59, 59, tzinfo=UTC)),
    ("2024-05-01T00:06:12.123456789Z", datetime(2024, 5, 1, 0, 6, 12, 123456, tzinfo=UTC)),
    ("2024-05-01T02:06:12+02:00", datetime(2024, 5, 1, 0, 6, 12, tzinfo=UTC)),
    ("2024-05-01T00:06:12", datetime(2024, 5, 1, 0, 6, 12, tzinfo=UTC)),
    ("20240501T000612Z", datetime(2024, 5, 1, 0, 6, 12, tzinfo=UTC)),
    (1714521972, datetime(2024, 5, 1, 0, 6, 12, tzinfo=UTC)),  # epoch seconds, as AWS's JSON protocols write them
    (1714521972.5, datetime(2024, 5, 1, 0, 6, 12, 500000, tzinfo=UTC)),
    (1714521972123, datetime(2024, 5, 1, 0, 6, 12, 123000, tzinfo=UTC)),  # epoch milliseconds
    ("1714521972", datetime(2024, 5, 1, 0, 6, 12, tzinfo=UTC)),
])
def test_submitted_at_is_read_in_every_format_aws_writes(written, expected):
    record = crrs(change(tTL=1, resourceRecords=[]))
    record["responseElements"]["changeInfo"]["submittedAt"] = written
    (event,) = flatten([record]).events.to_pylist()
    assert (event["change_submitted_at"], event["parse_warnings"]) == (expected, None)


@pytest.mark.parametrize(("batch", "words"), [
    ({"changes": "CREATE a.example.com"}, "changeBatch.changes: expected array, found string"),
    ({"changes": [42]}, "changes[0]: expected an object, found int"),
    ({"changes": [{"action": "CREATE", "resourceRecordSet": "a.example.com A"}]}, "changes[0].resourceRecordSet: expected object"),
    ("CREATE a.example.com", "requestParameters.changeBatch: expected object, found string"),
])
def test_a_batch_that_cannot_be_read_as_changes_quarantines_the_whole_event(batch, words):
    record = crrs()
    record["requestParameters"]["changeBatch"] = batch
    row = quarantined(record)
    assert words in row["error_message"], row["error_message"]
    assert row["error_kind"] == "bad_change_batch" and row["event_id"] == "e-1"


@pytest.mark.parametrize(("rrset", "column", "words", "kept"), [
    ({"tTL": "soon"}, "ttl", "changes[0].resourceRecordSet.tTL: expected 64-bit integer, found string \"soon\"", {"tTL": "soon"}),
    ({"tTL": 2**70}, "ttl", "expected 64-bit integer, found number 1180591620717411303424", {"tTL": 2**70}),
    ({"weight": True}, "weight", "weight: expected integer, found boolean", {"weight": True}),
    ({"resourceRecords": [{"value": {"v": 1}}, {"value": "192.0.2.1"}]}, "resource_records",
     "resourceRecords[0].value: expected string", {"resourceRecords[0].value": {"v": 1}}),
    ({"resourceRecords": "192.0.2.1"}, "resource_records", "resourceRecords: expected array", {"resourceRecords": "192.0.2.1"}),
    ({"aliasTarget": "d1.cloudfront.net."}, "alias_dns_name", "aliasTarget: expected object", {"aliasTarget": "d1.cloudfront.net."}),
])
def test_an_unreadable_change_value_is_null_and_named_on_its_row_and_its_event(rrset, column, words, kept):
    record = crrs(change(**rrset), change(name="b.example.com.", tTL=60, resourceRecords=[{"value": "192.0.2.2"}]))
    flat = flatten([record])
    assert flat.quarantine.num_rows == 0
    first, second = flat.record_changes.to_pylist()
    (event,) = flat.events.to_pylist()
    (warning,) = first["parse_warnings"]
    assert words in warning and event["parse_warnings"] == [warning] and second["parse_warnings"] is None
    assert first[column] in (None, [None, "192.0.2.1"]) and json.loads(first["extra"]) == kept
    assert json.loads(event["request_parameters"]) == record["requestParameters"]  # the original, whole


def test_good_records_around_a_bad_one_are_kept():
    bad = crrs(eventID="bad", eventTime="never")
    flat = flatten([crrs(change(tTL=1, resourceRecords=[]), eventID="a"), bad, crrs(change(tTL=2, resourceRecords=[]), eventID="b")])
    assert flat.events["event_id"].to_pylist() == ["a", "b"] and flat.record_changes.num_rows == 2
    assert flat.quarantine["event_id"].to_pylist() == ["bad"]
    assert flat.selected == 3


@pytest.mark.parametrize(("name", "recorded", "expected"), [
    ("ListHostedZones", None, True), ("GetChange", None, True), ("TestDNSAnswer", None, True),
    ("ChangeResourceRecordSets", None, False), ("ListHostedZones", False, False), ("DeleteHostedZone", True, True),
])
def test_read_only_is_as_recorded_or_follows_the_api_naming_convention(name, recorded, expected):
    record = crrs(eventName=name)
    if recorded is None:
        record.pop("readOnly", None)
    else:
        record["readOnly"] = recorded
    assert flatten([record]).events["read_only"][0].as_py() is expected
