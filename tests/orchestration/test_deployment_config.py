"""prefect.yaml points at the real flow with parameters the flow accepts."""

from __future__ import annotations

import importlib
import inspect

import pytest
import yaml

from flows.settings import LakeSettings
from tests.conftest import ROOT


def test_nightly_and_backfill_deployments_exist():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert {d["name"] for d in config["deployments"]} >= {"nightly", "backfill", "day"}


def test_every_deployment_entrypoint_is_the_flow_and_its_parameters_exist():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert config["deployments"]
    for deployment in config["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        assert not path.endswith(".py")  # a module path: `prefect deploy` works from any folder
        module = importlib.import_module(path)
        flow = getattr(module, name)
        assert flow.name.startswith("route53-lake")
        accepted = set(inspect.signature(flow.fn).parameters)
        parameters = deployment.get("parameters", {})
        assert set(parameters) <= accepted
        if "settings" in parameters:
            LakeSettings(**parameters["settings"])  # the deployment's settings validate
        for schedule in deployment.get("schedules", []):
            assert schedule["timezone"] == "UTC"
            hour = schedule["cron"].split()[1]
            assert hour.isdigit() and int(hour) != 2  # never in the 02:00-03:00 daylight-saving hole


def test_the_day_deployment_is_the_one_a_backfill_starts_its_days_from():
    from flows.orchestration.fanout import DAY_DEPLOYMENT

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    by_name = {d["name"]: d for d in config["deployments"]}
    flow_name, name = DAY_DEPLOYMENT.split("/")
    assert by_name[name]["entrypoint"] == "flows.route53_lake:route53_lake_day" and flow_name == "route53-lake-day"


def test_the_pull_step_finds_the_repository_with_or_without_project_dir(tmp_path):
    from flows.orchestration.deploy_steps import ProjectNotFound, project_directory

    assert project_directory("{{ $PROJECT_DIR }}") == project_directory("") == project_directory(None) == ROOT
    assert project_directory(str(ROOT)) == ROOT
    with pytest.raises(ProjectNotFound, match="PROJECT_DIR .* holds no prefect.yaml: deploy again from the repository root"):
        project_directory(str(tmp_path))
