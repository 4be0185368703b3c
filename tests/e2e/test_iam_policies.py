"""The documented IAM policies are least privilege: no wildcards in actions, every resource
confined to the trail or lake prefix, reads for the reader and nothing else."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT

POLICIES = {"reader": ROOT / "iam" / "reader-policy.json", "writer": ROOT / "iam" / "writer-policy.json"}


def statements(name: str) -> list[dict]:
    policy = json.loads(POLICIES[name].read_text())
    assert policy["Version"] == "2012-10-17"
    return policy["Statement"]


def actions(statement: dict) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_no_wildcard_actions_and_only_allow(name):
    for statement in statements(name):
        assert statement["Effect"] == "Allow"
        assert all("*" not in a for a in actions(statement))
        assert statement["Resource"] != "*"


def test_reader_can_only_list_and_get_the_cloudtrail_prefix():
    granted = {a for s in statements("reader") for a in actions(s)}
    assert granted == {"s3:ListBucket", "s3:GetObject"}
    for s in statements("reader"):
        assert "TRAIL_BUCKET" in s["Resource"]
        if s["Action"] == "s3:GetObject":
            assert s["Resource"].endswith("/AWSLogs/*")
        else:
            assert all(p.startswith("TRAIL_PREFIX/AWSLogs/") for p in s["Condition"]["StringLike"]["s3:prefix"])


def test_writer_is_confined_to_the_lake_prefix():
    for s in statements("writer"):
        if any(a.startswith("s3:") for a in actions(s)):
            assert "LAKE_BUCKET" in s["Resource"] and "TRAIL" not in json.dumps(s)
    objects = next(s for s in statements("writer") if "s3:PutObject" in actions(s))
    assert objects["Resource"] == "arn:aws:s3:::LAKE_BUCKET/LAKE_PREFIX/*"
