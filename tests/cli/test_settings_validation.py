"""Settings are checked before any work, on the command line and when a deployment's parameters
arrive, and a refused value is never quoted back: it may hold a secret."""

from __future__ import annotations

import json
import logging
import os
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from flows.redact import redact
from flows.settings import MAX_DAYS_PER_RUN, LakeSettings, SettingsError, delivery_days, nested_locations, validate_uri

KEY, SECRET = "AKIAHOSTILEKEY000000", "hostile-secret-value-0000"


@pytest.mark.parametrize(("uri", "words"), [
    (f"s3://{KEY}:{SECRET}@bucket/route53", "credentials"),
    (f"S3://{KEY}:{SECRET}@bucket", "credentials"),
    (f"s3://{KEY}@bucket", "credentials"),
    (f"s3:/{KEY}:{SECRET}@bucket", "two slashes"),
    (f"s3:{KEY}:{SECRET}@bucket", "two slashes"),
    (f"{KEY}:{SECRET}@bucket/route53", "looks like credentials"),
    (f"https://{KEY}:{SECRET}@example.com/x", "not supported"),
    (f"{KEY}:{SECRET}@x://bucket", "not a location"),
    ("s3://bucket:9000/x", "ports"),
    ("s3://bucket//prefix", "empty segment"),
    ("s3://bucket/a//b/", "write s3://bucket/a/b"),
    ("s3://bucket/a?versionId=1", "query string"),
    ("s3://x", "not a valid S3 bucket name"),
    ("lake\nrm -rf /", "control character"),
    ("lake\x00", "control character"),
])
def test_a_refused_location_is_never_quoted(uri, words):
    with pytest.raises(SettingsError, match=words) as refused:
        validate_uri(uri, "lake")
    assert SECRET not in str(refused.value) and KEY not in str(refused.value)


@pytest.mark.parametrize(("uri", "expected"), [
    ("s3://bucket/route53/", "s3://bucket/route53"), ("s3://bucket", "s3://bucket"), ("lake/", "lake"), ("/", "/"),
    ("/srv/lake@2", "/srv/lake@2"),  # an '@' after the first folder is a name, not credentials
])
def test_good_locations_are_kept(uri, expected):
    assert validate_uri(uri, "source") == expected


@pytest.mark.parametrize("lake", ["/", "//", "/..", "/tmp/.."])
def test_the_filesystem_root_is_no_lake(lake):
    with pytest.raises(ValidationError, match="filesystem root"):
        LakeSettings(source="s3://trail-bucket", lake=lake)


def test_source_slash_is_read_as_the_filesystem_root_with_an_s3_lake():
    assert LakeSettings(source="/", lake="s3://lake-bucket/route53").source == "/"


@pytest.mark.parametrize(("source", "lake", "words"), [
    ("{t}/trail", "{t}/trail", "same location"),
    ("{t}/trail", "{t}/trail/lake", "lake {t}/trail/lake is inside source"),
    ("{t}/lake/trail", "{t}/lake", "is inside lake"),
    ("/", "{t}/lake", "inside source /"),
    ("{t}/trail", "{t}/x/../trail/lake", "inside source"),
    ("{t}/link", "{t}/trail/lake", "inside source"),  # {t}/link -> {t}/trail
    ("s3://bucket", "s3://bucket/route53", "inside source"),
    ("s3://bucket/a/b", "s3://bucket/a", "inside lake"),
    ("s3://bucket/a", "s3://bucket/a/", "same location"),
])
def test_lake_and_source_are_kept_apart(tmp_path, source, lake, words):
    (tmp_path / "trail").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "trail")
    source, lake, words = (s.format(t=tmp_path) for s in (source, lake, words))
    with pytest.raises(ValidationError, match=words):
        LakeSettings(source=source, lake=lake)


@pytest.mark.parametrize(("source", "lake"), [
    ("s3://bucket/trail", "s3://bucket/trail-lake"), ("s3://trail", "s3://lake"), ("data/cloudtrail", "lake"),
    ("s3://bucket", "/srv/lake"),
])
def test_neighbours_are_not_nested(source, lake):
    assert nested_locations(source, lake) is None


def test_validation_errors_never_quote_the_input():
    with pytest.raises(ValidationError) as refused:
        LakeSettings(lake=f"s3://{KEY}:{SECRET}@bucket/x")
    assert SECRET not in str(refused.value) and "credentials" in str(refused.value)


def _keys(tmp_path, content: bytes, name: str = "keys.json") -> str:
    (tmp_path / name).write_bytes(content)
    return str(tmp_path / name)


def test_a_missing_public_keys_file_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValidationError, match="cannot read .*missing.json: No such file"):
        LakeSettings(digest_signatures="verify", digest_public_keys=str(tmp_path / "missing.json"))


@pytest.mark.parametrize("content", [b"{}", b"not json", b'{"PublicKeyList": [{"Value": "!!"}]}', b"[]"])
def test_a_public_keys_file_of_the_wrong_shape_is_refused(tmp_path, content):
    with pytest.raises(ValidationError, match="list-public-keys"):
        LakeSettings(digest_signatures="verify", digest_public_keys=_keys(tmp_path, content))


def test_a_linked_public_keys_file_is_resolved_as_mounted_secrets_are(tmp_path):
    real = _keys(tmp_path, json.dumps({"PublicKeyList": [{"Value": "AAAA", "Fingerprint": "ab"}]}).encode(), "real.json")
    (tmp_path / "keys.json").symlink_to(real)
    settings = LakeSettings(digest_signatures="verify", digest_public_keys=str(tmp_path / "keys.json"))
    assert settings.digest_public_keys == os.path.realpath(real)


def test_single_days_count_toward_the_limit_of_a_run():
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(MAX_DAYS_PER_RUN + 69)]
    with pytest.raises(SettingsError, match=f"{len(days)} delivery days in one run; at most {MAX_DAYS_PER_RUN}"):
        delivery_days(None, None, days)
    assert len(delivery_days(None, None, days[:MAX_DAYS_PER_RUN])) == MAX_DAYS_PER_RUN


def test_redact_removes_user_information_and_secret_variables(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value-123")
    text = (f"s3://{KEY}:{SECRET}@b/x s3:/{KEY}:{SECRET}@b {KEY}:{SECRET}@b/x env-secret-value-123 "
            "arn:aws:sts::123456789012:assumed-role/Deploy/alice@example.com")
    cleaned = redact(text)
    assert KEY not in cleaned and SECRET not in cleaned and "env-secret-value-123" not in cleaned
    assert "assumed-role/Deploy/alice@example.com" in cleaned  # an ARN's session name is no credential


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_deployment_refuses_credentials_in_its_parameters_without_logging_them(capfd):
    """Parameters arriving from the UI or a schedule are validated by the same model; Prefect logs
    refused parameters with their values, and those records are redacted for every handler
    (console and the run's log alike)."""
    from prefect.exceptions import ParameterTypeError

    from flows.route53_lake import backfill, nightly

    refused = [(nightly, {"settings": {"lake": f"s3://{KEY}:{SECRET}@bucket/x"}}),
               (backfill, {"start": "2026-11-01", "end": "2026-11-02", "settings": {"source": f"s3:/{KEY}:{SECRET}@b"}}),
               (nightly, {"settings": {"lake": "/"}})]
    records = _Records()
    logging.getLogger("prefect.flows").addHandler(records)
    try:
        for flow, parameters in refused:
            with pytest.raises(ParameterTypeError) as error:
                flow.validate_parameters(parameters)
            assert SECRET not in str(error.value)
    finally:
        logging.getLogger("prefect.flows").removeHandler(records)
    text = "\n".join(records.messages) + "".join(capfd.readouterr())
    assert "Parameter validation failed" in text
    assert SECRET not in text and KEY not in text


@pytest.mark.parametrize("value", [0, 65, -1])
def test_backfill_concurrency_is_between_1_and_64(value):
    with pytest.raises(ValidationError):
        LakeSettings(backfill_concurrency=value)


def test_the_run_form_reads_every_optional_field_as_a_plain_field_and_empty_means_not_given():
    """Prefect's form shows `anyOf [X, null]` as 'Property is type "None"': the schema offers X,
    empty by default, and empty is what leaving the field out means."""
    from flows.route53_lake import backfill, nightly, route53_lake_day

    for flow in (backfill, nightly, route53_lake_day):
        schema = flow.parameters.model_dump()
        properties = schema["definitions"]["LakeSettings"]["properties"]
        assert not [name for name, p in properties.items() if "anyOf" in p]
        assert all(p.get("description") for p in properties.values())  # every field says what it is
        assert all(p.get("description") for p in schema["properties"].values())
    assert LakeSettings(accounts=[], kms_key_id="", dask_address="", digest_public_keys="") == LakeSettings()
