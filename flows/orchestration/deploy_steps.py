"""The pull step of prefect.yaml's deployments: where a flow run finds the repository (its code,
sql/ and the relative paths of the settings, such as data/cloudtrail and lake).

`PROJECT_DIR` at deploy time wins when it names a folder holding prefect.yaml; otherwise the
repository this package was imported from (the folder prefect.yaml lives in, for the editable
install `make` sets up). Anything else fails the run with the fix in one line, not a ScriptError.
"""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


class ProjectNotFound(RuntimeError):
    """No folder holding prefect.yaml to run the flow from."""


def project_directory(directory: str | None = None) -> Path:
    given = (directory or "").strip()
    if given and "{{" not in given:  # an unset $PROJECT_DIR reaches here blank or as its placeholder
        if (Path(given) / "prefect.yaml").is_file():
            return Path(given)
        raise ProjectNotFound(f"PROJECT_DIR {given} holds no prefect.yaml: deploy again from the repository root with "
                              "PROJECT_DIR=$PWD (or without PROJECT_DIR: the repository is then found by itself)")
    if (REPOSITORY / "prefect.yaml").is_file():
        return REPOSITORY
    raise ProjectNotFound(f"no prefect.yaml beside {REPOSITORY}: install the repository with `pip install -e .` on the "
                          "worker, or deploy with PROJECT_DIR=/path/to/the/repository")


def set_project_directory(directory: str | None = None) -> dict[str, str]:
    """A pull step: change into the repository; returns it as `directory` for later steps."""
    found = project_directory(directory)
    os.chdir(found)
    return {"directory": str(found)}
