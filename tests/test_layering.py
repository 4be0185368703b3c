"""The layers, read from the source (ast, nothing imported): who may import whom.

- the lake package (flows/lake/) never imports the source package (flows/source/): the step
  (flows/pipeline.py) lists, reads and checks digests, the lake only writes;
- transforms/ and schemas/ import neither flows, nor Prefect, nor s3fs (pure: no I/O, no orchestration);
- below flows/, only the Prefect side imports Prefect: flows/route53_lake.py, flows/orchestration/, flows/cli/;
- no module imports an old name that flows/moved.py keeps alive for users;
- the import graph of flows/ (module-level imports) is at most MAX_LEVELS modules deep.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from flows.moved import MOVED, MOVED_NAMES
from tests.conftest import ROOT

MAX_LEVELS = 7
PREFECT_SIDE = ("flows/route53_lake.py", "flows/orchestration/", "flows/cli/")
# flows/storage/locks.py imports Prefect inside a function, only when Prefect is already loaded, to
# log lock waits to the run's log. It goes when the steps pass their run's logger down to the locks.
PREFECT_LAZY_EXCEPTIONS = ("flows/storage/locks.py",)


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def imports(path: Path, top_level_only: bool = False) -> frozenset[str]:
    """Every module name `path` imports (for `from a import b`: a, and a.b in case b is a module).
    top_level_only: module-level imports, not those in functions, `if TYPE_CHECKING:` or `if __name__ == "__main__":`."""
    tree = ast.parse(path.read_text())
    nodes = _top_level(tree.body) if top_level_only else ast.walk(tree)
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level-1
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return frozenset(found)


def _top_level(body: list[ast.stmt]):
    for node in body:
        if isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if "TYPE_CHECKING" in test or "__name__" in test:
                continue
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            yield from _top_level(node.body)
        else:
            yield node


def imports_any(path: Path, roots: tuple[str, ...]) -> set[str]:
    return {name for name in imports(path) if any(name == r or name.startswith(r + ".") for r in roots)}


@pytest.mark.parametrize("path", python_files("flows/lake"), ids=rel)
def test_the_lake_never_imports_the_source(path: Path):
    assert not imports_any(path, ("flows.source",))


@pytest.mark.parametrize("path", python_files("transforms", "schemas"), ids=rel)
def test_pure_layers_import_no_flows_prefect_or_s3fs(path: Path):
    assert not imports_any(path, ("flows", "prefect", "prefect_dask", "s3fs", "fsspec", "boto3", "botocore"))


@pytest.mark.parametrize("path", python_files("flows"), ids=rel)
def test_only_the_prefect_side_imports_prefect(path: Path):
    if rel(path).startswith(PREFECT_SIDE) or rel(path) in PREFECT_LAZY_EXCEPTIONS:
        return
    assert not imports_any(path, ("prefect", "prefect_dask"))


def test_the_prefect_exception_is_still_a_lazy_import():
    """An exception must not grow into a module-level import."""
    for name in PREFECT_LAZY_EXCEPTIONS:
        assert not {i for i in imports(ROOT / name, top_level_only=True) if i.split(".")[0] == "prefect"}


def old_names() -> set[str]:
    """Every import spelling of an old name: a moved module (`flows.flow`, and `from flows import
    flow`) and a name a package no longer defines (`from flows.storage import open_store`)."""
    return set(MOVED) | {f"{package}.{name}" for package, (_, names) in MOVED_NAMES.items() for name in names}


@pytest.mark.parametrize("path", python_files("flows", "transforms", "schemas", "tests", "benchmarks", "data"), ids=rel)
def test_no_module_imports_an_old_name(path: Path):
    if rel(path) == "flows/moved.py":
        return
    old = {i for i in imports(path) if any(i == o or i.startswith(o + ".") for o in old_names())}
    assert not old, f"import these from their new homes (flows/moved.py): {sorted(old)}"


def flows_graph() -> dict[str, set[str]]:
    """flows module -> every flows module it imports: at module level, in a function (a lazy import
    is still a dependency) or for types only (packages' __init__ aside: they only hold
    flows/moved.py's aliases)."""
    files = {module_name(p): p for p in python_files("flows") if p.name != "__init__.py"}
    return {name: {i for i in imports(path) if i in files and i != name} for name, path in files.items()}


def test_the_import_graph_of_flows_is_at_most_seven_levels_deep():
    graph = flows_graph()

    @cache
    def deepest(name: str, seen: frozenset[str] = frozenset()) -> tuple[str, ...]:
        assert name not in seen, f"an import cycle: {' -> '.join([*seen, name])}"
        return (name, *max((deepest(n, seen | {name}) for n in sorted(graph[name])), key=len, default=()))

    chain = max((deepest(name) for name in sorted(graph)), key=len)
    assert len(chain) <= MAX_LEVELS, " -> ".join(chain)
