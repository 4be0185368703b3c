"""The data dictionary (markdown), generated from schemas.tables: never written by hand."""

from __future__ import annotations

from schemas.tables import TABLES, Table
from schemas.views import RESOLVER_VIEWS, View
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
        "| column | type | null | description | if the value cannot be read |",
        "|---|---|---|---|---|",
    ]
    for column in (*table.columns, table.partition):
        nullable = "yes" if column.nullable else "no"
        partition = " (partition)" if column is table.partition else ""
        description = column.description.replace("|", "\\|")
        unreadable = column.unreadable.replace("|", "\\|")
        lines.append(f"| `{column.name}`{partition} | {type_name(column.type)} | {nullable} | {description} | {unreadable} |")
    return "\n".join(lines)


def render_view(view: View) -> str:
    lines = [
        f"### `{view.name}`",
        "",
        view.description,
        "",
        f"- Grain: {view.grain}.",
        f"- Key: ({', '.join(view.key)}).",
        f"- Source: `sql/views/{view.name}.sql`.",
        "",
        "| column | type | description |",
        "|---|---|---|",
    ]
    for column in view.columns:
        description = column.description.replace("|", "\\|")
        lines.append(f"| `{column.name}` | {type_name(column.type)} | {description} |")
    return "\n".join(lines)


VIEWS_INTRO = """## Views: Route 53 Resolver and DNS Firewall

Views over `events` (through `api_calls`), defined in `sql/views/` and set up by `route53-lake ddl`
for DuckDB, Athena and Spark. They need the Resolver calls in the lake: the event source
`route53resolver.amazonaws.com` and the regions the VPCs are in (Resolver is regional). Each lists
failed attempts too (`applied` false). Where a call does not state a field (an association, an
update of one field, a failed call whose response is null), the view shows it as the last applied
call on the same resource left it, or null when the lake never saw one."""


UNREADABLE_RULE = """## Values that cannot be read

Only what identifies and places a record can send it to `quarantine`: `eventTime`, `eventSource`,
`eventName`, and a change batch that cannot be read as changes (`changeBatch`, `changes`, a change
or its `resourceRecordSet` that is not an object or array where one belongs), plus the bounds on one
record (`max_record_bytes`, `max_json_depth`). Any other value that cannot be read (a wrong type, a
number no column holds such as `1e400`, text with a lone surrogate, an implausible `submittedAt`)
makes its column null and the record is published: `parse_warnings` names each such value as
`field: what was found`, the JSON columns (`request_parameters`, `response_elements`,
`additional_event_data`) keep it as it was, and `extra` keeps the others by their dotted path. A
change's own values are named in its `record_changes.parse_warnings` and kept in its `extra`, and
listed in the event's `parse_warnings` too. The last column of each table below says, field by
field, what happens."""


def render_dictionary() -> str:
    kinds = "\n".join(f"| `{kind}` | {text} |" for kind, text in ERROR_KIND_DOCS.items())
    parts = [
        "# Data dictionary",
        "",
        "Generated from `schemas/tables.py` by `python -m schemas.docs`; a test fails when it is stale.",
        "",
        UNREADABLE_RULE,
        "",
        *(render_table(t) + "\n" for t in TABLES.values()),
        VIEWS_INTRO,
        "",
        *(render_view(v) + "\n" for v in RESOLVER_VIEWS.values()),
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
