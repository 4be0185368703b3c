"""Each input file gives exactly the rows reviewed in its golden file, read either way.

The fast reader (as the pipeline calls it) and the lenient reference are both compared with the
text in tests/golden/expected, not only with each other: a change to a helper they share shows up
here as a diff. When a change is meant, regenerate and review the diff before committing it:

    .venv/bin/python -m tests.golden.regenerate
    git diff tests/golden/expected

tests/golden/golden.py says what the inputs are and how a file is written.
"""

from __future__ import annotations

import pytest

from tests.golden.golden import EXPECTED, Golden, goldens, read_fast, read_reference, render
from transforms.errors import ErrorKind, Rejected

GOLDENS = goldens()
# What the reference quarantines in a file the fast reader does not parse (its bytes spell no
# selected source): records whose source it cannot tell. See tests/transforms/test_fast_path.py.
CANNOT_TELL = {ErrorKind.RECORD_NOT_OBJECT, ErrorKind.BAD_FIELD_TYPE, ErrorKind.TOO_DEEP, ErrorKind.RECORD_TOO_LARGE}


def _id(golden: Golden) -> str:
    return f"{golden.group}/{golden.name}"


def test_every_input_has_its_golden_file_and_no_other():
    assert {g.expected for g in GOLDENS} == set(EXPECTED.rglob("*.expected.jsonl"))
    assert {g.group for g in GOLDENS} == {"sample", "corpus", "generated"}


@pytest.mark.parametrize("golden", GOLDENS, ids=_id)
def test_fast_reader_gives_the_golden_rows(golden):
    assert render(read_fast(golden)) == golden.expected.read_text()


@pytest.mark.parametrize("golden", GOLDENS, ids=_id)
def test_reference_reader_gives_the_golden_rows(golden):
    fast, reference = read_fast(golden), read_reference(golden)
    if isinstance(fast, Rejected):
        assert isinstance(reference, Rejected) and reference.kind == fast.kind
    elif not fast.parsed:  # not parsed: nothing of a selected source in the file, nor checked as JSON
        if isinstance(reference, Rejected):  # damage past the first bytes of a file in the shape of a log file
            return
        assert reference.events.num_rows == reference.record_changes.num_rows == 0
        assert all(ErrorKind(row["error_kind"]) in CANNOT_TELL for row in reference.quarantine.to_pylist())
    else:
        assert render(reference) == golden.expected.read_text()


def test_golden_files_hold_rows_of_every_table():
    """The inputs are chosen so that every table, and the odd cases, have rows to compare."""
    text = "".join(g.expected.read_text() for g in GOLDENS)
    for table in ("events", "record_changes", "quarantine"):
        assert f'{{"{table}": {{' in text, table
    for fragment in ('"alias_dns_name": "d111111abcdef8.cloudfront.net."', '"error_code": "InvalidChangeBatch"',
                     '"geoproximity_bias": 10', '"error_kind": "bad_change_batch"', '"event_id": "synthetic:'):
        assert fragment in text, fragment
