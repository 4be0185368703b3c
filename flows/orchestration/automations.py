"""`route53-lake automations --webhook-url URL`: the example automations of
automations/route53-lake.yaml on the Prefect server of PREFECT_API_URL, each sending its
notification through one webhook block (`route53-lake-alerts`, a CustomWebhookNotificationBlock
that POSTs JSON `{"subject": ..., "body": ...}` to the URL). Running it again replaces them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from flows.cli.errors import Parser

FILE = Path(__file__).resolve().parents[2] / "automations" / "route53-lake.yaml"
BLOCK = "route53-lake-alerts"


def definitions(path: Path = FILE) -> list[dict]:
    return yaml.safe_load(path.read_text())


def save_webhook(url: str, name: str = BLOCK):
    """The notification block the automations send through (replaced if it exists)."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(name=name, url=url, method="POST",
                                           json_data={"subject": "{{subject}}", "body": "{{body}}"})
    block.save(name, overwrite=True)
    return block._block_document_id


def create(url: str, path: Path = FILE) -> list[str]:
    """The block, then every automation of the file (an existing one of the same name is replaced)."""
    from prefect.automations import Automation, EventTrigger, Posture, SendNotification

    block_id = save_webhook(url)
    names = []
    for spec in definitions(path):
        _delete_named(Automation, spec["name"])
        Automation(
            name=spec["name"], description=spec.get("description", ""), enabled=True,
            trigger=EventTrigger(expect={spec["event"]}, match={"prefect.resource.id": "route53-lake.*"},
                                 posture=Posture.Reactive, threshold=1, within=0),
            actions=[SendNotification(block_document_id=block_id, subject=spec["subject"], body=spec["body"])],
        ).create()
        names.append(spec["name"])
    return names


def _delete_named(Automation, name: str) -> None:
    while True:
        try:
            Automation.read(name=name).delete()
        except ValueError:  # none (left) of that name
            return


def main(argv: list[str]) -> int:
    p: argparse.ArgumentParser = Parser(prog="route53-lake automations",
                                        description="Create the example automations of automations/route53-lake.yaml "
                                                    "on the Prefect server of PREFECT_API_URL, notifying one webhook.")
    p.add_argument("--webhook-url", required=True, help="where notifications are POSTed as JSON {subject, body} "
                                                        "(Slack, Teams, PagerDuty or your own endpoint)")
    args = p.parse_args(argv)
    import os

    from flows.settings import SettingsError

    if not os.environ.get("PREFECT_API_URL"):
        raise SettingsError("PREFECT_API_URL is not set: automations live on a running Prefect server; "
                            "export PREFECT_API_URL=http://127.0.0.1:4200/api (see README, Orchestration) and run this again")
    for name in create(args.webhook_url):
        print(f"automation: {name}")
    print(f"notifications go to the webhook block {BLOCK}; edit automations/route53-lake.yaml and run this again to change them")
    return 0
