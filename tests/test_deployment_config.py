"""prefect.yaml points at the real flow with parameters the flow accepts."""

from __future__ import annotations

import importlib
import inspect

import yaml

from flows.settings import LakeSettings
from tests.conftest import ROOT


def test_nightly_and_backfill_deployments_exist():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert {d["name"] for d in config["deployments"]} >= {"nightly", "backfill"}


def test_every_deployment_entrypoint_is_the_flow_and_its_parameters_exist():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert config["deployments"]
    for deployment in config["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
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
