"""Columns derived from several fields of a record (read=DERIVED in schemas/tables.py), and the
rules that fill in what old records lack. Both readers call these same functions.

An events function takes the event name and the record's JSON objects it needs, by the names of
VIEWS, as views (objects with raw/str/obj, as transforms.values.Obj has): the lenient reader
passes Obj, which folds case and sets a bad value aside; the strict reader passes exact views,
which refuse any other spelling (strict.py sends such a record to the lenient reader).
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from functools import cache
from typing import Any

from transforms.route53.names import normalize_record_name, strip_prefix
from transforms.values import Obj

PARAMS, RESPONSE, CHANGE_INFO = "requestParameters", "responseElements", "responseElements.changeInfo"
VIEWS = {"params": PARAMS, "response": RESPONSE, "change_info": CHANGE_INFO}  # argument name -> the object it is
# Keys these functions read in requestParameters and responseElements, as CloudTrail spells them.
KEYS_READ = ("hostedZoneId", "id", "name", "resourceType", "resourceId", "healthCheckId", "hostedZone", "healthCheck", "changeInfo")

READ_PREFIXES = ("get", "list", "describe", "testdnsanswer", "check", "view")


def read_only_by_name(event_name: str) -> bool:
    """Records older than eventVersion 1.01 lack readOnly: the API naming convention decides
    (Get*, List*, TestDNSAnswer... read; everything else writes)."""
    return event_name.lower().startswith(READ_PREFIXES)


def object_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def synthetic_event_id(r: Obj) -> str:
    """eventVersion 1.0 records have no eventID: derive a stable one from what identifies the call."""
    parts = [r.raw(k) for k in ("eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress")]
    parts += [Obj(object_or_none(r.raw("userIdentity")), "").raw("arn"), r.raw("requestParameters")]
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"synthetic:{digest[:32]}"


def hosted_zone_id(event_name: str, params: Any, response: Any) -> str | None:
    zone = params.str("hostedZoneId")
    if zone is None and "hostedzone" in event_name.lower():
        zone = params.str("id")  # DeleteHostedZone, GetHostedZone, UpdateHostedZoneComment
    if zone is None and (params.str("resourceType") or "").lower() == "hostedzone":
        zone = params.str("resourceId")  # ChangeTagsForResource
    if zone is None:
        zone = response.obj("hostedZone").str("id")  # CreateHostedZone
    return strip_prefix(zone, "/hostedzone/")


def hosted_zone_name(event_name: str, params: Any, response: Any) -> str | None:
    if event_name.lower() != "createhostedzone":
        return None
    return normalize_record_name(params.str("name") or response.obj("hostedZone").str("name"))


def change_id(event_name: str, params: Any, change_info: Any) -> str | None:
    change = change_info.str("id")
    if change is None and event_name.lower() == "getchange":
        change = params.str("id")
    return strip_prefix(change, "/change/")


def health_check_id(event_name: str, params: Any, response: Any) -> str | None:
    check = params.str("healthCheckId") or response.obj("healthCheck").str("id")
    if check is None and (params.str("resourceType") or "").lower() == "healthcheck":
        check = params.str("resourceId")
    return check


EVENT_DERIVED: dict[str, Callable[..., Any]] = {
    "hosted_zone_id": hosted_zone_id,
    "hosted_zone_name": hosted_zone_name,
    "change_id": change_id,
    "health_check_id": health_check_id,
}
# A change column derived from another column of the same row: (that column, the function).
CHANGE_DERIVED: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "record_name_normalized": ("record_name", normalize_record_name),
}


@cache
def views_of(function: Callable[..., Any]) -> tuple[str, ...]:
    """The scopes of the views an events function takes, in its arguments' order (after event_name)."""
    return tuple(VIEWS[name] for name in list(inspect.signature(function).parameters)[1:])
