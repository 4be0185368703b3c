"""Golden outputs: every input file beside the rows it must become, as reviewed text.

An input is a log file of the sample (data/cloudtrail), a file of tests/corpus/real (wrapped in a
Records envelope, as its shape varies), or a hand-written file of tests/golden/inputs (odd values:
failed calls, alias and routing records, lenient spellings, quarantined records). Its expected
rows live in tests/golden/expected/<group>/<name>.expected.jsonl, one JSON object a line:

    {"file": {"records_read": ..., "selected": ..., "parsed": ...}}   (or {"rejected": {...}})
    {"events": {column: value, ...}}            one per events row, in file order
    {"record_changes": {...}}                   one per change, (record_index, change_index) order
    {"quarantine": {...}}                       one per quarantined record

Columns in schema order, timestamps and dates in ISO-8601, non-ASCII as \\u escapes: the same rows
always give the same bytes, so a change shows up as a diff a person reads.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tests.conftest import CORPUS, DATA, ROOT, corpus_records
from transforms.cloudtrail.container import decompress, read_log_file_reference
from transforms.errors import Rejected
from transforms.route53.fast import flatten_file
from transforms.route53.reference import Flattened, flatten_records
from transforms.times import TimeWindow

HERE = Path(__file__).resolve().parent
INPUTS = HERE / "inputs"
EXPECTED = HERE / "expected"
SOURCES = frozenset({"route53.amazonaws.com", "route53domains.amazonaws.com", "route53resolver.amazonaws.com"})
WINDOW = TimeWindow.until(datetime(2027, 1, 1, tzinfo=UTC))  # a fixed "run start": the output must not depend on today
OTHER_DAY = date(2026, 11, 1)  # delivery date of inputs that are not in a YYYY/MM/DD folder


@dataclass(frozen=True)
class Golden:
    """One input file and where its expected rows are kept."""

    group: str  # sample, corpus or generated
    path: Path

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".gz").removesuffix(".json")

    @property
    def expected(self) -> Path:
        return EXPECTED / self.group / f"{self.name}.expected.jsonl"

    @property
    def source_file(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    @property
    def delivery_date(self) -> date:
        if self.group != "sample":
            return OTHER_DAY
        year, month, day = self.path.parent.parts[-3:]
        return date(int(year), int(month), int(day))

    def gzipped(self) -> bytes:
        """The file as it would sit in a trail's bucket."""
        if self.group == "sample":
            return self.path.read_bytes()
        records = corpus_records(self.path.name) if self.group == "corpus" else json.loads(self.path.read_text())["Records"]
        return gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)


def goldens() -> list[Golden]:
    sample = [Golden("sample", p) for p in sorted((DATA / "cloudtrail").rglob("*.json.gz"))]
    corpus = [Golden("corpus", p) for p in sorted(CORPUS.glob("*.json"))]
    generated = [Golden("generated", p) for p in sorted(INPUTS.glob("*.json"))]
    return sample + corpus + generated


def read_fast(golden: Golden) -> Flattened | Rejected:
    """The file as the pipeline reads it (flows/source/reading.py: decompress, then flatten_file)."""
    try:
        return flatten_file(decompress(golden.gzipped()), source_file=golden.source_file,
                            delivery_date=golden.delivery_date, event_sources=SOURCES, window=WINDOW)
    except Rejected as error:
        return error


def read_reference(golden: Golden) -> Flattened | Rejected:
    """The file as the lenient reference reads it: standard library gzip and json, every record."""
    try:
        return flatten_records(read_log_file_reference(golden.gzipped()), source_file=golden.source_file,
                               delivery_date=golden.delivery_date, event_sources=SOURCES, window=WINDOW)
    except Rejected as error:
        return error


def render(result: Flattened | Rejected) -> str:
    """The golden text of one reading."""
    return "".join(json.dumps(line, default=_plain, ensure_ascii=True) + "\n" for line in _lines(result))


def _lines(result: Flattened | Rejected) -> Iterator[dict[str, Any]]:
    if isinstance(result, Rejected):
        yield {"rejected": {"kind": str(result.kind), "message": result.message}}
        return
    yield {"file": {"records_read": result.records_read, "selected": result.selected, "parsed": result.parsed}}
    for table in ("events", "record_changes", "quarantine"):
        for row in getattr(result, table).to_pylist():
            yield {table: row}


def _plain(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"no golden text for {type(value).__name__}")
