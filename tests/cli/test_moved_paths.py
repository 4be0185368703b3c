"""Import paths from before the wing move (2026-12) keep working, each with a warning that names the
new path: `python -m flows.route53_lake` (the command line's old spelling), the old deployment
entrypoints and pull step (`flows.flow:nightly`, `flows.deploy_steps`), and modules scripts import."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings

import pytest

from flows.moved import MOVED, MOVED_NAMES
from tests.conftest import ROOT


def test_the_old_module_spelling_of_the_command_line_still_runs_the_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "flows.route53_lake", "latest", "--lake", str(tmp_path / "nowhere")],
                            capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    new = subprocess.run([sys.executable, "-m", "flows.cli", "latest", "--lake", str(tmp_path / "nowhere")],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert result.returncode == new.returncode != 0  # the same refusal of a lake that does not exist
    assert result.stderr == new.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_module_name_is_the_new_module_with_a_warning(old, new):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert any(new in str(w.message) and issubclass(w.category, DeprecationWarning) for w in caught)


def test_old_deployment_entrypoints_resolve_to_the_flows():
    flows = importlib.import_module("flows.route53_lake")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module("flows.flow")
    for name in ("nightly", "backfill", "route53_lake_day", "route53_lake"):
        assert getattr(old, name) is getattr(flows, name)


@pytest.mark.parametrize("package", sorted(MOVED_NAMES))
def test_names_that_left_a_package_are_found_where_they_went(package):
    home, names = MOVED_NAMES[package]
    for name in sorted(names):
        with pytest.warns(DeprecationWarning, match=home):
            value = getattr(importlib.import_module(package), name)
        assert value is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError):
        importlib.import_module(package).no_such_name  # noqa: B018 - a missing name stays missing
