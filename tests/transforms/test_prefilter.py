"""Files whose bytes cannot spell a selected eventSource are not parsed (transforms.cloudtrail.prefilter): every
spelling the reference selects (any case, \\u escapes, the Kelvin sign) is still parsed and read
row for row as the reference reads it; a file without one yields what the reference yields
(nothing selected); a file that does not decompress is still quarantined; the manifest and
source_files say which files were counted without parsing."""

from __future__ import annotations

import gzip
import json
import sys
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.lake.manifests import file_entry
from flows.settings import ROUTE53_FAMILY, LakeSettings
from flows.source.listing import LogObject
from flows.source.reading import read_and_flatten
from tests.conftest import a_record, gz, log_key, other_record, route53_record
from tests.transforms.test_fast_path import assert_nothing_selected, assert_same, both_ways
from transforms.cloudtrail.container import decompress, read_log_file_reference
from transforms.cloudtrail.prefilter import may_hold_selected
from transforms.route53.fast import flatten_file
from transforms.route53.reference import flatten_records

ROUTE53 = "route53.amazonaws.com"
SOURCES = frozenset({ROUTE53, "route53domains.amazonaws.com", "route53resolver.amazonaws.com"})
DAY = date(2026, 11, 1)
RECORD = {"eventVersion": "1.08", "eventSource": "SPELLED", "eventName": "GetChange", "eventID": "e1",
          "eventTime": "2026-11-01T10:00:00Z", "requestParameters": {"id": "C1"}}


def test_the_kelvin_sign_is_the_only_character_beyond_ascii_that_lower_cases_into_ascii():
    """What the prefilter relies on: str.lower (flatten_event's comparison) maps no other
    character beyond ASCII to ASCII only (U+0130 becomes 'i' and a combining dot)."""
    into_ascii = [c for c in range(0x80, sys.maxunicode + 1) if chr(c).lower().isascii()]
    assert into_ascii == [0x212A] and "\u212a".lower() == "k"


def _spellings(source: str):
    """A JSON string's text (between the quotes) that decodes to `source` in any case, each
    character written plainly, in upper case or as a \\u escape (hex digits in either case)."""
    def one(char: str):
        options = [st.just(char), st.just(char.upper()), st.sampled_from([f"\\u{ord(char):04x}", f"\\u{ord(char):04X}"])]
        if char == "k":
            options.append(st.sampled_from(["\u212a", "\\u212a", "\\u212A"]))
        return st.one_of(options)
    return st.tuples(*[one(c) for c in source]).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SOURCES | {"kafka.amazonaws.com"})).flatmap(lambda s: st.tuples(st.just(s), _spellings(s))),
       st.integers(0, 3))
@pytest.mark.slow  # a few seconds: make check leaves it to make test
def test_every_spelling_the_reference_selects_is_parsed_and_read_the_same(source_and_spelling, others):
    source, spelled = source_and_spelling
    sources = SOURCES | {source}
    s3 = [json.dumps({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "n": i}) for i in range(others)]
    text = ('{"Records":[' + ",".join([*s3, json.dumps(RECORD).replace("SPELLED", spelled)]) + "]}").encode()
    assert json.loads(text)["Records"][-1]["eventSource"].lower() == source  # the reference selects it
    assert may_hold_selected(text, sources)
    reference, fast = both_ways(gzip.compress(text), sources)
    assert fast.parsed and fast.selected == 1 == reference.selected and fast.records_read == others + 1
    assert_same(reference, fast)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet="route53.amazonwsdic-RAZ\\\u212a", max_size=30), min_size=1, max_size=6))
def test_a_file_whose_sources_are_near_misses_yields_what_the_reference_yields(values):
    """Sources made of the needle's own characters (so prefixes, shuffles and casings of it):
    whether or not the file is parsed, the fast path's tables are the reference's."""
    records = [{**RECORD, "eventID": f"e{i}", "eventSource": value} for i, value in enumerate(values)]
    data = gzip.compress(json.dumps({"Records": records}).encode())
    reference, fast = both_ways(data, frozenset({ROUTE53}))
    assert_same(reference, fast)
    if not any(value.lower() == ROUTE53 for value in values):
        assert reference.selected == 0


def test_a_file_without_the_needle_is_not_parsed_nor_counted_and_the_reference_selects_nothing():
    records = [{**RECORD, "eventID": f"e{i}", "eventSource": "s3.amazonaws.com", "userAgent": "api/route53#1.44.0"} for i in range(30)]
    data = gzip.compress(json.dumps({"Records": records}).encode())
    reference, fast = both_ways(data)
    assert (fast.parsed, fast.records_read, reference.records_read, reference.selected) == (False, None, 30, 0)
    assert_nothing_selected(reference, fast)


def test_an_escape_elsewhere_that_cannot_spell_a_source_character_does_not_force_a_parse():
    text = json.dumps({"Records": [{**RECORD, "eventSource": "s3.amazonaws.com", "userAgent": "caf\u00e9 \u2028"}]}).encode()
    assert b"\\u00e9" in text and not may_hold_selected(text, SOURCES)
    assert may_hold_selected(text.replace(b"caf", b"\\u0063af"), SOURCES)  # an ASCII escape might spell one: parsed


def test_a_needle_across_the_prefilters_chunks_is_found():
    from transforms.cloudtrail import prefilter

    for boundary in (prefilter._FIRST_CHUNK, prefilter._FIRST_CHUNK + prefilter._CHUNK):
        for cut in range(len(ROUTE53) + 1):
            text = b"x" * (boundary - cut) + ROUTE53.upper().encode() + b"x" * cut
            assert may_hold_selected(text, SOURCES), (boundary, cut)
            assert not may_hold_selected(text.replace(b"ROUTE53", b"ROUTE54"), SOURCES)


def test_each_source_of_the_route53_family_is_found_in_any_case_and_near_misses_are_not():
    family = frozenset(ROUTE53_FAMILY)
    for source in ROUTE53_FAMILY:
        for spelled in (source, source.upper(), source.title()):
            text = json.dumps({"Records": [{**RECORD, "eventSource": spelled}]}).encode()
            assert may_hold_selected(text, family), spelled
            assert may_hold_selected(b"\xff\xfe" + spelled.encode() + b"\x00\xc3", family), spelled  # bytes that are not UTF-8 around it
    # '.' is literal (not "any byte"), and a source outside the family is not one of it
    for near in ("route53Xamazonaws.com", "route54.amazonaws.com", "route53-recovery-cluster.amazonaws.com", "s3.amazonaws.com"):
        text = json.dumps({"Records": [{**RECORD, "eventSource": near}]}).encode()
        assert not may_hold_selected(text, family), near


def _folder(tmp_path, files: dict[str, bytes]) -> tuple[LakeSettings, list[str]]:
    trail = tmp_path / "trail"
    keys = []
    for minute, data in files.items():
        key = log_key("123456789012", "2026-11-01", minute, unique=f"Unique{minute}AbCdEf")
        (trail / key).parent.mkdir(parents=True, exist_ok=True)
        (trail / key).write_bytes(data)
        keys.append(key)
    return LakeSettings(source=str(trail), lake=str(tmp_path / "lake")), keys


def test_a_corrupt_or_truncated_gzip_without_the_needle_is_still_quarantined(tmp_path):
    good = gz([other_record(i, "2026-11-01T02:00:00Z") for i in range(5)])
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF
    settings, keys = _folder(tmp_path, {"0100": good[: len(good) // 2], "0200": bytes(damaged), "0300": good})
    truncated, corrupt, fine = (read_and_flatten(settings, LogObject(k, 0, None), DAY) for k in keys)
    assert truncated.rejected == "truncated_gzip" and corrupt.rejected in ("corrupt_gzip", "truncated_gzip")
    for result in (truncated, corrupt):
        assert result.parsed and result.records_read == 0 and result.quarantine.num_rows == 1
    assert (fine.rejected, fine.parsed, fine.records_read, fine.quarantine.num_rows) == (None, False, None, 0)


def test_the_manifest_entry_says_which_files_were_counted_without_parsing(tmp_path):
    with_route53 = gz([route53_record("e1", "2026-11-01T01:00:00Z", a_record("a.example.com.", "192.0.2.1"))])
    without = gz([other_record(i, "2026-11-01T02:00:00Z") for i in range(4)])
    settings, keys = _folder(tmp_path, {"0100": with_route53, "0200": without})
    entries = [file_entry(read_and_flatten(settings, LogObject(k, 0, None), DAY)) for k in keys]
    assert [(e["parsed"], e["records"], e["route53_records"]) for e in entries] == [(True, 1, 1), (False, None, 0)]


def test_the_reference_reads_a_file_without_the_needle_as_holding_nothing_selected():
    """Every seed file of the sample that the prefilter passes over is one the reference selects nothing from."""
    from tests.conftest import DATA

    passed_over = 0
    for path in sorted((DATA / "cloudtrail").rglob("*_CloudTrail_*.json.gz")):
        try:
            text = decompress(path.read_bytes())
        except Exception:  # noqa: BLE001 - the sample's truncated file
            continue
        if not may_hold_selected(text, SOURCES):
            passed_over += 1
            reference = flatten_records(read_log_file_reference(path.read_bytes()), source_file="f", delivery_date=DAY,
                                        event_sources=SOURCES)
            assert_nothing_selected(reference, flatten_file(text, source_file="f", delivery_date=DAY, event_sources=SOURCES))
    assert passed_over > 0
