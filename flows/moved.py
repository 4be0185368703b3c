"""Where modules went when flows/ was split into wings (2026-12), so that an import path a user or
a registered deployment still holds keeps working. Each old name is an alias of the module that
replaced it, with a DeprecationWarning naming the new path. Nothing in this repository imports an
old name (tests/test_layering.py keeps it so).

Remove an entry when no deployment registered before the move can still run (deployments re-created
with `prefect deploy --all` name the new entrypoints) and the CHANGELOG has said so for a release.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    # prefect.yaml's entrypoints and pull step before the move
    "flows.flow": "flows.route53_lake",
    "flows.deploy_steps": "flows.orchestration.deploy_steps",
    # modules that README examples and scripts imported
    "flows.duckdb_lake": "flows.query.duckdb_lake",
    "flows.summary": "flows.query.summary",
    "flows.locks": "flows.storage.locks",
    "flows.listing": "flows.source.listing",
    "flows.publish": "flows.lake.publish",
    "flows.manifests": "flows.lake.manifests",
}

# Names a moved package no longer defines itself: `from flows.storage import open_store` (flows.storage
# was a module; it is the storage wing now).
MOVED_NAMES = {
    "flows.storage": ("flows.storage.store", {"Store", "Entry", "open_store", "source_identity"}),
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=3)
        return importlib.import_module(new)

    def exec_module(self, module):
        """Nothing to run: the module was imported under its new name."""


def install() -> None:
    """Resolve the old module names (called once, from flows/__init__.py)."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())


def moved_name(package: str, name: str):
    """A package's `__getattr__` for names that moved out of it, with the same warning."""
    home, names = MOVED_NAMES[package]
    if name not in names:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    warnings.warn(f"{package}.{name} moved to {home}.{name}; import it from there", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(home), name)
