"""The data dictionary (markdown), generated from schemas.tables: never written by hand."""

from __future__ import annotations

from schemas.tables import TABLES, Table
from transforms.errors import ERROR_KIND_DOCS

DICTIONARY_PATH = "docs/data-dictionary.md"


def type_name(arrow_type) -> str:
    text = str(arrow_type)
    return {"large_string": "string", "list<item: string>": "list<string>"}.get(text, text)


def render_table(table: Table) -> str:
    lines = [
        f"## `{table.name}`",
        "",
        table.description,
        "",
        f"- Grain: {table.grain}.",
        f"- Key: ({', '.join(table.key)}).",
        f"- Layout: `<lake>/{table.name}/{table.partition.name}=YYYY-MM-DD/*.parquet`, sorted by {', '.join(table.sort_by)}.",
        "",
        "| column | type | null | description |",
        "|---|---|---|---|",
    ]
    for column in (*table.columns, table.partition):
        nullable = "yes" if column.nullable else "no"
        partition = " (partition)" if column is table.partition else ""
        description = column.description.replace("|", "\\|")
        lines.append(f"| `{column.name}`{partition} | {type_name(column.type)} | {nullable} | {description} |")
    return "\n".join(lines)


def render_dictionary() -> str:
    kinds = "\n".join(f"| `{kind}` | {text} |" for kind, text in ERROR_KIND_DOCS.items())
    parts = [
        "# Data dictionary",
        "",
        "Generated from `schemas/tables.py` by `python -m schemas.docs`; a test fails when it is stale.",
        "",
        *(render_table(t) + "\n" for t in TABLES.values()),
        "## Quarantine error kinds",
        "",
        "| error_kind | meaning |",
        "|---|---|",
        kinds,
        "",
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / DICTIONARY_PATH
    path.parent.mkdir(exist_ok=True)
    path.write_text(render_dictionary())
    print(f"wrote {path}")
