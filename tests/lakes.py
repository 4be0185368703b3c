"""Helpers that finish a lake the way the pipeline will: the source_files table, written from the
manifests with transforms.source_files (the lead wires this into publishing; until then tests do it)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from schemas.tables import SOURCE_FILES
from transforms.source_files import source_file_rows

MANIFESTS = "_manifests"


def write_source_files(lake: Path, run_id: str | None = "test-run") -> int:
    """One source_files file per manifest, in the manifest's delivery_date partition. Returns rows written."""
    rows = 0
    for path in sorted((Path(lake) / MANIFESTS).glob("delivery_date=*/*.json")):
        table = source_file_rows(json.loads(path.read_text()), run_id)
        out = Path(lake) / SOURCE_FILES.name / path.parent.name / f"{path.stem}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out, compression="zstd")
        rows += table.num_rows
    return rows
