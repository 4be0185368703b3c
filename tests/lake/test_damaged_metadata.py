"""The lake's own metadata never costs data or blocks a day (repro_27, repro_28): a manifest or a
partition build record that is damaged, hand-edited or copied from elsewhere is logged, set aside
(a manifest is kept beside its replacement as .damaged-<time>) and rebuilt from what the lake and
the source hold; a rerun then publishes exactly what a clean lake holds. Above all, a manifest is
not trusted as instructions: the staged files it names are deleted only when their names prove
they are the folder's own."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from tests.conftest import a_record, gz, lake_files, log_key, other_record, route53_record

DAY = date(2026, 11, 2)
ACCT = "123456789012"


def write_trail(root: Path, name: str, event_id: str) -> Path:
    key = root / name / log_key(ACCT, DAY.isoformat(), "1000", unique=f"{event_id:a<16}"[:16])
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_bytes(gz([route53_record(event_id, "2026-11-02T09:00:00Z", a_record(f"{event_id.lower()}.example.com.", "192.0.2.1")),
                        other_record(1, "2026-11-02T09:00:01Z")]))
    return root / name


def published(lake: Path) -> dict[str, bytes]:
    """The lake as readers and reruns see it: without set-aside copies."""
    return {k: v for k, v in lake_files(lake).items() if ".damaged-" not in k}


@pytest.fixture
def lake(tmp_path):
    """A lake of one day folder, and a copy of it made before any damage (the expected state)."""
    source = write_trail(tmp_path, "trail", "E1")
    settings = LakeSettings(source=str(source), lake=str(tmp_path / "lake"))
    run_without_prefect(settings, [DAY])
    shutil.copytree(tmp_path / "lake", tmp_path / "clean")
    return settings, tmp_path / "lake", tmp_path / "clean"


def only(folder: Path, pattern: str) -> Path:
    (found,) = [p for p in folder.rglob(pattern) if ".damaged-" not in p.name]
    return found


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


MANIFEST_DAMAGE = {
    "staged_sha256 is a list": lambda m: json.dumps({**m, "staged_sha256": ["x"]}),
    "nested 100,000 deep": lambda m: json.dumps({**m, "files": "FILES"}).replace('"FILES"', nested(100_000)),
    "an output that climbs out": lambda m: json.dumps({**m, "outputs": ["_staging/events/event_date=2026-11-02/../../../escape.parquet"]}),
    "outputs is a string": lambda m: json.dumps({**m, "outputs": "_staging/events"}),
    "files is an object": lambda m: json.dumps({**m, "files": {"uri": "x"}}),
    "not JSON": lambda m: '{"files": [',
}


@pytest.mark.parametrize("damage", sorted(MANIFEST_DAMAGE))
def test_a_damaged_manifest_is_set_aside_and_the_rerun_publishes_the_clean_lake(lake, damage):
    settings, root, clean = lake
    manifest = only(root / "_manifests", "*.json")
    original = manifest.read_text()
    manifest.write_text(MANIFEST_DAMAGE[damage](json.loads(original)))
    run_without_prefect(settings, [DAY])  # no exception: the day is not blocked
    assert published(root) == published(clean)
    (kept,) = manifest.parent.glob(manifest.name + ".damaged-*")  # the damaged file, kept for a person
    assert kept.read_text() == MANIFEST_DAMAGE[damage](json.loads(original))
    run_without_prefect(settings, [DAY])  # and the next run has nothing left to repair
    assert published(root) == published(clean)


def test_a_manifest_naming_another_folders_staged_file_never_deletes_it(tmp_path):
    """repro_28: two sources publish into one lake; source A's manifest is edited (or restored from
    elsewhere) to list source B's staged file. A's rerun must leave B's file, and B's events, alone."""
    a, b = write_trail(tmp_path, "a", "E1"), write_trail(tmp_path, "b", "V1")
    lake = tmp_path / "lake"
    for source in (a, b):
        run_without_prefect(LakeSettings(source=str(source), lake=str(lake)), [DAY])
    before = published(lake)
    manifests = sorted((lake / "_manifests").rglob("*.json"))
    documents = [json.loads(m.read_text()) for m in manifests]
    a_index = next(i for i, d in enumerate(documents) if d["source"].endswith("/a"))
    foreign = [o for i, d in enumerate(documents) if i != a_index for o in d["outputs"]]
    documents[a_index]["outputs"] += foreign
    manifests[a_index].write_text(json.dumps(documents[a_index]))
    run_without_prefect(LakeSettings(source=str(a), lake=str(lake)), [DAY])
    assert all((lake / path).exists() for path in foreign)
    assert published(lake) == before


def test_a_damaged_partition_build_record_is_rebuilt(lake):
    settings, root, clean = lake
    for record in (root / "_state" / "partitions").glob("*.json"):
        record.write_text(nested(100_000))
    run_without_prefect(settings, [DAY])
    assert published(root) == published(clean)
    assert all(json.loads(r.read_text()) for r in (root / "_state" / "partitions").glob("*.json"))
