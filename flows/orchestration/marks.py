"""How a run is marked for the people who look at it: the name of a state that finished with
warnings, the tag the runs list shows beside it, and the command that publishes days again."""

from __future__ import annotations

import shlex

import prefect.runtime
from prefect import get_run_logger

from flows.settings import LakeSettings

WARNING_STATE = "Completed with warnings"
WARNING_TAG = "warnings"  # on a run that finished with warnings: the runs list shows it beside the green state


def retry_command(settings: LakeSettings, days: list[str]) -> str:
    """The command line that publishes `days` again, as inline code."""
    default = LakeSettings()
    command = [".venv/bin/route53-lake", "--source", settings.source, "--lake", settings.lake]
    command += [arg for day in days for arg in ("--day", day)]
    command += [arg for account in settings.accounts or [] for arg in ("--account", account)]
    if settings.regions != default.regions:
        command += [arg for region in settings.regions for arg in ("--region", region)]
    if settings.event_sources != default.event_sources:
        command += [arg for source in settings.event_sources for arg in ("--event-source", source)]
    return "`" + shlex.join(command).replace("`", "'") + "`"


def tag_run(tag: str, run_id: str | None = None) -> None:
    """Add a tag to a flow run, this one by default (best effort: a tag is a hint, the state says it)."""
    run_id = run_id or prefect.runtime.flow_run.id
    if not run_id:
        return
    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            tags = client.read_flow_run(run_id).tags
            if tag not in tags:
                client.update_flow_run(run_id, tags=[*tags, tag])
    except Exception as error:  # noqa: BLE001 - the state and its message say it anyway
        get_run_logger().debug("could not tag the run %s: %s", tag, error)
