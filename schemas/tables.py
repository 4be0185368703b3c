"""Every table of the lake, declared once: name, grain, key, partition, columns, types, docs.

Parquet writing, the data dictionary and the DDL are all generated from these declarations;
no other module names a column type. Column names are lower snake_case because Athena
lower-cases identifiers. Timestamps are microseconds in UTC: Athena cannot read nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")
STRING = pa.string()
BIGINT = pa.int64()
DOUBLE = pa.float64()
BOOL = pa.bool_()
DATE = pa.date32()
STRINGS = pa.list_(pa.string())


# What a value that cannot be read does to its record (the data dictionary's "if unreadable").
SET_ASIDE = "null; named in parse_warnings"
SET_ASIDE_KEPT = "null; named in parse_warnings; kept in extra"
IN_JSON = "null; named in parse_warnings (the JSON column keeps the value)"
WHOLE_JSON = "kept whole as JSON text: never unreadable"
NOT_READ = "-"  # made by the pipeline, or derived from other columns


# How a column is read from its CloudTrail path (transforms/route53/columns.py reads these):
AS_TYPED = ""  # the value at the path, as the column's type (text, integer, number, boolean, time)
IDENTIFIES = "identifies"  # eventTime, eventName, eventSource, eventID, readOnly: identify and place the record
IN_FULL = "json"  # the whole value as JSON text
VALUES = "values"  # resourceRecords[].value, in order
UPPER = "upper"  # text, upper-cased
ZONE_ID = "zone_id"  # text without its '/hostedzone/' prefix
COUNT = "count"  # the number of items of the list at the path
DERIVED = "derived"  # from several fields, by the function of the column's name (transforms/route53/derived.py)


@dataclass(frozen=True)
class Column:
    """path: where a column read from a record finds its value, in CloudTrail's spelling (dotted;
    a record_changes column's path is within one change of the batch, except for the columns it
    shares with events, which are their event's). None for a column the pipeline makes or that is
    derived. read: how the value at path becomes the column's (see above). Adding a column read
    from a record is one line here: both readers follow these declarations."""

    name: str
    type: pa.DataType
    description: str
    nullable: bool = True
    unreadable: str = NOT_READ
    path: str | None = None
    read: str = AS_TYPED

    def field(self) -> pa.Field:
        return pa.field(
            self.name, self.type, nullable=self.nullable,
            metadata={"description": self.description},
        )


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    grain: str
    key: tuple[str, ...]
    partition: Column
    sort_by: tuple[str, ...]
    columns: tuple[Column, ...]

    @cached_property
    def schema(self) -> pa.Schema:
        """The schema of the Parquet files: every column except the Hive partition column."""
        return pa.schema([c.field() for c in self.columns], metadata={"table": self.name})

    @cached_property
    def empty(self) -> pa.Table:
        """A table of no rows (immutable, so one serves every caller)."""
        return self.schema.empty_table()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _col(name: str, type_: pa.DataType, description: str, nullable: bool = True, unreadable: str = SET_ASIDE_KEPT, *,
         path: str | None = None, read: str = AS_TYPED) -> Column:
    return Column(name, type_, description, nullable, unreadable, path, read)


def _made(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> Column:
    """A column the pipeline makes (or derives), not read from one field of the record."""
    return Column(name, type_, description, nullable, NOT_READ)


EVENT_DATE = _made("event_date", DATE, "UTC date of event_time (Hive partition, from the folder name).", False)
DELIVERY_DATE_PARTITION = _made(
    "delivery_date", DATE, "UTC delivery date: the YYYY/MM/DD folder the file was read from (Hive partition).", False
)

_DELIVERY_DATE = _made(
    "delivery_date", DATE,
    "UTC delivery date of the log file (its YYYY/MM/DD folder). Differs from event_date for events "
    "delivered after midnight or late.", False,
)
_SOURCE_FILE = _made("source_file", STRING, "URI of the CloudTrail log file the row was read from.", False)
_RECORD_INDEX = _made(
    "record_index", BIGINT, "Position of the record in its file's Records list: with source_file, the exact raw record.", False
)
_EVENT_ID = _col(
    "event_id", STRING,
    "CloudTrail eventID, unique per event. Records without one (eventVersion 1.0) get "
    "'synthetic:' + SHA-256 of eventTime, eventSource, eventName, awsRegion, sourceIPAddress, "
    "userIdentity.arn and requestParameters, so duplicates of them still collapse.", False,
    "the synthetic id, as without one; named in parse_warnings; kept in extra", path="eventID", read=IDENTIFIES)
_EVENT_TIME = _col(
    "event_time", TIMESTAMP, "eventTime: when the API call was made (UTC). ISO-8601 with Z, an offset or none, up to "
    "nanoseconds (kept to microseconds).", False,
    "record quarantined: missing_field, bad_field_type (not a string), bad_timestamp, implausible_time (offset beyond "
    "±18:00, before 2013-11-01, or over a day after the run started)", path="eventTime", read=IDENTIFIES)
_HOSTED_ZONE_ID = _col(
    "hosted_zone_id", STRING,
    "Hosted zone the call acted on, without the '/hostedzone/' prefix (from requestParameters."
    "hostedZoneId or .id, or responseElements.hostedZone.id).", unreadable=IN_JSON, read=DERIVED)
_CHANGE_ID = _col("change_id", STRING, "Route 53 change id without the '/change/' prefix (responseElements.changeInfo.id).",
                  unreadable=IN_JSON, read=DERIVED)
_CHANGE_COMMENT = _col("change_comment", STRING, "requestParameters.changeBatch.comment.", unreadable=IN_JSON, path="requestParameters.changeBatch.comment")
_ERROR_CODE = _col("error_code", STRING, "errorCode of a failed call; null when the call succeeded.", path="errorCode")
_USER_IDENTITY_TYPE = _col(
    "user_identity_type", STRING,
    "userIdentity.type: IAMUser, AssumedRole, Root, AWSService, FederatedUser, ...", path="userIdentity.type")
_USER_IDENTITY_ARN = _col("user_identity_arn", STRING, "userIdentity.arn of the caller.", path="userIdentity.arn")
_INVOKED_BY = _col("user_identity_invoked_by", STRING, "userIdentity.invokedBy: the AWS service that made the call (e.g. cloudformation.amazonaws.com).", path="userIdentity.invokedBy")
_SESSION_ISSUER_ARN = _col(
    "session_issuer_arn", STRING, "userIdentity.sessionContext.sessionIssuer.arn: the role behind an assumed-role session.", path="userIdentity.sessionContext.sessionIssuer.arn")
_SOURCE_IP = _col("source_ip_address", STRING, "sourceIPAddress: caller IP, or a service name such as cloudformation.amazonaws.com.", path="sourceIPAddress")
_USER_AGENT = _col("user_agent", STRING, "userAgent of the caller (tool and version).", path="userAgent")
_RECIPIENT_ACCOUNT = _col("recipient_account_id", STRING, "recipientAccountId: the account that owns the resource.", path="recipientAccountId")
_HEALTH_CHECK_ID = _col("health_check_id", STRING, "Health check id (requestParameters.healthCheckId or responseElements.healthCheck.id).",
                        unreadable=IN_JSON, read=DERIVED)
# The same name, description and docs as the event's (so the files are unchanged), read from the record set.
_RECORD_SET_HEALTH_CHECK_ID = replace(_HEALTH_CHECK_ID, path="resourceRecordSet.healthCheckId", read=AS_TYPED)
_PARSE_WARNINGS = _made(
    "parse_warnings", STRINGS,
    "Values that could not be read, one 'field: what was found' each (e.g. 'userAgent: expected string, found "
    "object {...}'); their columns are null. Null when there are none.",
)

EVENTS = Table(
    name="events",
    description="One row per Route 53 API call recorded by CloudTrail, failed calls included: once per event_id "
    "across the whole lake, whatever trails, folders and delivery days delivered it: the earliest delivered copy is kept, "
    "in the event_date of its own eventTime, also when copies' eventTimes fall on two adjacent dates (copies whose "
    "dates are further apart are not compared, and each is kept: docs/architecture.md).",
    grain="one CloudTrail record of a selected Route 53 event source",
    key=("event_id",),
    partition=EVENT_DATE,
    sort_by=("event_time", "event_id"),
    columns=(
        _EVENT_ID,
        _EVENT_TIME,
        _col("event_name", STRING, "eventName, e.g. ChangeResourceRecordSets, as CloudTrail wrote it.", False,
             "record quarantined: missing_field, bad_field_type, invalid_unicode", path="eventName", read=IDENTIFIES),
        _col("event_source", STRING, "eventSource, lower case, e.g. route53.amazonaws.com.", False,
             "text that is no selected source: record skipped; not text: record quarantined (bad_field_type)", path="eventSource", read=IDENTIFIES),
        _col("event_type", STRING, "eventType: AwsApiCall, AwsServiceEvent, AwsConsoleAction, ...", path="eventType"),
        _col("event_version", STRING, "eventVersion of the record format, e.g. 1.08.", path="eventVersion"),
        _col("api_version", STRING, "apiVersion of the service API, e.g. 2013-04-01 for route53.", path="apiVersion"),
        _col("event_category", STRING, "eventCategory: Management, Data, ...", path="eventCategory"),
        _col(
            "read_only", BOOL,
            "readOnly: true for calls that do not change state. Records without it (eventVersion 1.0) "
            "follow the API naming convention: Get*, List*, Describe*, TestDNSAnswer... are read-only.",
            unreadable="null (not the naming convention); named in parse_warnings; kept in extra", path="readOnly", read=IDENTIFIES),
        _col("management_event", BOOL, "managementEvent flag.", path="managementEvent"),
        _col("aws_region", STRING, "awsRegion the call was recorded in (us-east-1 for Route 53 itself).", path="awsRegion"),
        _SOURCE_IP,
        _USER_AGENT,
        _col("request_id", STRING, "requestID assigned by the service.", path="requestID"),
        _RECIPIENT_ACCOUNT,
        _col("shared_event_id", STRING, "sharedEventID: links copies of an event delivered to several accounts.", path="sharedEventID"),
        _col("vpc_endpoint_id", STRING, "vpcEndpointId when the call came through a VPC endpoint.", path="vpcEndpointId"),
        _ERROR_CODE,
        _col("error_message", STRING, "errorMessage of a failed call (can be absent even when error_code is set).", path="errorMessage"),
        _col("tls_version", STRING, "tlsDetails.tlsVersion.", path="tlsDetails.tlsVersion"),
        _col("tls_cipher_suite", STRING, "tlsDetails.cipherSuite.", path="tlsDetails.cipherSuite"),
        _col("tls_client_provided_host_header", STRING, "tlsDetails.clientProvidedHostHeader.", path="tlsDetails.clientProvidedHostHeader"),
        _USER_IDENTITY_TYPE,
        _col("user_identity_principal_id", STRING, "userIdentity.principalId.", path="userIdentity.principalId"),
        _USER_IDENTITY_ARN,
        _col("user_identity_account_id", STRING, "userIdentity.accountId: the account of the caller.", path="userIdentity.accountId"),
        _col("user_identity_access_key_id", STRING, "userIdentity.accessKeyId (an identifier, not a secret).", path="userIdentity.accessKeyId"),
        _col("user_identity_user_name", STRING, "userIdentity.userName.", path="userIdentity.userName"),
        _INVOKED_BY,
        _col("session_issuer_type", STRING, "userIdentity.sessionContext.sessionIssuer.type (Role, ...).", path="userIdentity.sessionContext.sessionIssuer.type"),
        _SESSION_ISSUER_ARN,
        _col("session_issuer_user_name", STRING, "userIdentity.sessionContext.sessionIssuer.userName (the role name).", path="userIdentity.sessionContext.sessionIssuer.userName"),
        _col("session_mfa_authenticated", BOOL, "userIdentity.sessionContext.attributes.mfaAuthenticated.", path="userIdentity.sessionContext.attributes.mfaAuthenticated"),
        _col("session_creation_date", TIMESTAMP, "userIdentity.sessionContext.attributes.creationDate (UTC): ISO-8601 "
             "(extended or basic) or epoch seconds or milliseconds.",
             unreadable="null, also when implausible (as for event_time); named in parse_warnings; kept in extra", path="userIdentity.sessionContext.attributes.creationDate"),
        _HOSTED_ZONE_ID,
        _col("hosted_zone_name", STRING, "Zone name, normalized (lower case, trailing dot), where the call carries it (CreateHostedZone).",
             unreadable=IN_JSON, read=DERIVED),
        _CHANGE_ID,
        _col("change_status", STRING, "responseElements.changeInfo.status, e.g. PENDING.", unreadable=IN_JSON, path="responseElements.changeInfo.status"),
        _col("change_submitted_at", TIMESTAMP, "responseElements.changeInfo.submittedAt in UTC: Java's US medium format "
             "of any JDK ('Jan 16, 2015 12:41:43 AM', 'Jan 16, 2015, 12:41:43\u202fAM'), ISO-8601 or epoch seconds/ms.",
             unreadable="null, also when implausible (as for event_time); named in parse_warnings (the JSON column keeps it)", path="responseElements.changeInfo.submittedAt"),
        _HEALTH_CHECK_ID,
        _col("change_count", BIGINT, "Number of entries in requestParameters.changeBatch.changes; null when the call has no batch.",
             unreadable="record quarantined (bad_change_batch): a batch, changes list, change or resourceRecordSet of the wrong shape", path="requestParameters.changeBatch.changes", read=COUNT),
        _CHANGE_COMMENT,
        _col("addendum_reason", STRING, "addendum.reason for late or corrected deliveries: DELIVERY_DELAY, UPDATED_DATA, SERVICE_OUTAGE.", path="addendum.reason"),
        _col("addendum_original_event_id", STRING, "addendum.originalEventID: the event an UPDATED_DATA record corrects.", path="addendum.originalEventID"),
        _col("request_parameters", STRING, "requestParameters as JSON text, whole, so nothing is lost.", unreadable=WHOLE_JSON, path="requestParameters", read=IN_FULL),
        _col("response_elements", STRING, "responseElements as JSON text, whole.", unreadable=WHOLE_JSON, path="responseElements", read=IN_FULL),
        _col("additional_event_data", STRING, "additionalEventData as JSON text (an object for route53, a string for route53domains).",
             unreadable=WHOLE_JSON, path="additionalEventData", read=IN_FULL),
        _made(
            "extra", STRING,
            "JSON object of record fields no column holds, by dotted path (e.g. 'resources', "
            "'userIdentity.sessionContext.sourceIdentity'), and of values set aside (see parse_warnings); null when none.",
        ),
        _PARSE_WARNINGS,
        _DELIVERY_DATE,
        _SOURCE_FILE,
        _RECORD_INDEX,
    ),
)

RECORD_CHANGES = Table(
    name="record_changes",
    description="One row per change of a ChangeResourceRecordSets batch, once per (event_id, change_index) across "
    "the whole lake: the changes of the copy of the event that events keeps. Rows of failed calls are kept "
    "with error_code set: Route 53 applies a batch all or nothing, so none of them took effect.",
    grain="one element of requestParameters.changeBatch.changes",
    key=("event_id", "change_index"),
    partition=EVENT_DATE,
    sort_by=("event_time", "event_id", "change_index"),
    columns=(
        _EVENT_ID,
        _made("change_index", BIGINT, "Position of the change in its batch, from 0.", False),
        _EVENT_TIME,
        _RECIPIENT_ACCOUNT,
        _HOSTED_ZONE_ID,
        _CHANGE_ID,
        _CHANGE_COMMENT,
        _USER_IDENTITY_TYPE,
        _USER_IDENTITY_ARN,
        _INVOKED_BY,
        _SESSION_ISSUER_ARN,
        _SOURCE_IP,
        _USER_AGENT,
        _ERROR_CODE,
        _col("action", STRING, "CREATE, DELETE or UPSERT (upper case).", path="action", read=UPPER),
        _col("record_name", STRING, "resourceRecordSet.name exactly as sent.", path="resourceRecordSet.name"),
        _col(
            "record_name_normalized", STRING,
            "record_name as DNS compares it: ASCII letters lower-cased, one trailing dot, \\ooo escapes decoded "
            "(\\052 -> '*', UTF-8 \\303\\244 -> 'ä'); an escaped dot, space, control and non-UTF-8 bytes stay \\ooo.",
            unreadable=NOT_READ, read=DERIVED,
        ),
        _col("record_type", STRING, "resourceRecordSet.type: A, AAAA, CNAME, TXT, MX, ...", path="resourceRecordSet.type"),
        _col("ttl", BIGINT, "resourceRecordSet.TTL in seconds (CloudTrail writes the key as tTL); null for alias records.", path="resourceRecordSet.tTL"),
        _col("resource_records", STRINGS, "resourceRecordSet.resourceRecords[].value in order; null for alias records. TXT values keep their quotes.", path="resourceRecordSet.resourceRecords", read=VALUES),
        _col("alias_hosted_zone_id", STRING, "aliasTarget.hostedZoneId of an alias record.", path="resourceRecordSet.aliasTarget.hostedZoneId", read=ZONE_ID),
        _col("alias_dns_name", STRING, "aliasTarget.dNSName of an alias record.", path="resourceRecordSet.aliasTarget.dNSName"),
        _col("alias_evaluate_target_health", BOOL, "aliasTarget.evaluateTargetHealth.", path="resourceRecordSet.aliasTarget.evaluateTargetHealth"),
        _col("set_identifier", STRING, "setIdentifier of a routing-policy record.", path="resourceRecordSet.setIdentifier"),
        _col("weight", BIGINT, "weight of a weighted record (0 allowed).", path="resourceRecordSet.weight"),
        _col("region", STRING, "region of a latency record.", path="resourceRecordSet.region"),
        _col("failover", STRING, "failover: PRIMARY or SECONDARY.", path="resourceRecordSet.failover"),
        _col("geo_continent_code", STRING, "geoLocation.continentCode.", path="resourceRecordSet.geoLocation.continentCode"),
        _col("geo_country_code", STRING, "geoLocation.countryCode ('*' is the default location).", path="resourceRecordSet.geoLocation.countryCode"),
        _col("geo_subdivision_code", STRING, "geoLocation.subdivisionCode.", path="resourceRecordSet.geoLocation.subdivisionCode"),
        _col("multi_value_answer", BOOL, "multiValueAnswer.", path="resourceRecordSet.multiValueAnswer"),
        _RECORD_SET_HEALTH_CHECK_ID,
        _col("traffic_policy_instance_id", STRING, "trafficPolicyInstanceId.", path="resourceRecordSet.trafficPolicyInstanceId"),
        _col("cidr_collection_id", STRING, "cidrRoutingConfig.collectionId.", path="resourceRecordSet.cidrRoutingConfig.collectionId"),
        _col("cidr_location_name", STRING, "cidrRoutingConfig.locationName.", path="resourceRecordSet.cidrRoutingConfig.locationName"),
        _col("geoproximity_aws_region", STRING, "geoProximityLocation.aWSRegion.", path="resourceRecordSet.geoProximityLocation.aWSRegion"),
        _col("geoproximity_local_zone_group", STRING, "geoProximityLocation.localZoneGroup.", path="resourceRecordSet.geoProximityLocation.localZoneGroup"),
        _col("geoproximity_latitude", DOUBLE, "geoProximityLocation.coordinates.latitude.", path="resourceRecordSet.geoProximityLocation.coordinates.latitude"),
        _col("geoproximity_longitude", DOUBLE, "geoProximityLocation.coordinates.longitude.", path="resourceRecordSet.geoProximityLocation.coordinates.longitude"),
        _col("geoproximity_bias", BIGINT, "geoProximityLocation.bias.", path="resourceRecordSet.geoProximityLocation.bias"),
        _made(
            "extra", STRING,
            "JSON object of keys this schema does not know, by dotted path (e.g. 'aZAffinity', "
            "'change.someNewKey'), and of this change's values set aside (e.g. 'tTL'); null when there are none.",
        ),
        _made(
            "parse_warnings", STRINGS,
            "This change's values that could not be read, 'field: what was found' each (e.g. an unreadable TTL); "
            "their columns are null. The event's parse_warnings lists them too. Null when none.",
        ),
        _made("batch_size", BIGINT, "Number of changes in the whole batch (equals the event's change_count)."),
        _DELIVERY_DATE,
        _SOURCE_FILE,
        _RECORD_INDEX,
    ),
)

QUARANTINE = Table(
    name="quarantine",
    description="One row per input that could not be used: a whole file, or one record of the wrong shape. "
    "Nothing read is dropped without a row here or in another table.",
    grain="one rejected file or record",
    key=("source_file", "record_index"),
    partition=DELIVERY_DATE_PARTITION,
    sort_by=("source_file", "record_index"),
    columns=(
        _SOURCE_FILE,
        _made("record_index", BIGINT, "Position of the record in the file's Records list; null when the whole file was rejected."),
        _made("error_kind", STRING, "Short fixed vocabulary, see transforms.errors.ErrorKind.", False),
        _made("error_message", STRING, "What was expected and what was found.", False),
        _made("event_source", STRING, "eventSource of a rejected record, when it had one."),
        _made("event_id", STRING, "eventID of a rejected record, when it had one."),
        _made("raw", STRING, "The rejected record as JSON text; null for a whole file."),
    ),
)

SOURCE_FILES = Table(
    name="source_files",
    description="One row per CloudTrail log file of a delivery day folder that was read, or that a CloudTrail digest "
    "lists but the bucket did not have: what was loaded and what is missing, as data. Built from the day folder's manifest.",
    grain="one log file of one delivery day folder (account x region x day), read or promised by a digest",
    key=("source_file",),
    partition=DELIVERY_DATE_PARTITION,
    sort_by=("source_file",),
    columns=(
        _col("source_file", STRING, "URI of the log file (for a missing file: where the digest says it should be).", False),
        _col("account_id", STRING, "Account of the day folder (AWSLogs/[o-ORG/]ACCOUNT/...).", False),
        _col("region", STRING, "CloudTrail region folder of the day folder.", False),
        _col("org_id", STRING, "Organization id of an organization trail's folder; null for an account trail."),
        _col("folder", STRING, "The day folder, relative to the source root: AWSLogs/.../CloudTrail/REGION/YYYY/MM/DD.", False),
        _col("delivered_at", TIMESTAMP, "Delivery time from the file name (to the minute, UTC); null when the name has none."),
        _col("was_read", BOOL, "True for a file read; false for one a digest lists that the bucket did not have.", False),
        _col("size_bytes", BIGINT, "Size of the object as stored (gzip), in bytes; null when not read."),
        _col("etag", STRING, "S3 ETag of the object as listed; null for local files and missing ones."),
        _col("sha256", STRING, "SHA-256 of the object's bytes as stored (not the digest's hash of the uncompressed content)."),
        _col("records", BIGINT, "Records in the file's Records list; 0 for a rejected file, null when not read or not parsed (see parsed)."),
        _col("route53_records", BIGINT, "Records of the selected event sources in the file."),
        _col("rejected_kind", STRING, "error_kind of a file rejected whole (see quarantine); null when the file was usable."),
        _col(
            "digest_verdict", STRING,
            "What CloudTrail's digests say: missing (listed, not in the bucket), unlisted (delivered in a digest's hour, "
            "in no digest), hash_mismatch, no_finding (checked, no problem); null when no digest was checked.",
        ),
        _col("run_id", STRING, "Id of the run that first staged the folder's files as they are (the Prefect flow run id, or a random id per command-line run); a rerun over the same input keeps it, so it stages the same bytes and nothing is rebuilt."),
        _col("parsed", BOOL, "False: the file's bytes spell no selected eventSource (any case, escaped or not), so it holds "
             "none and was not parsed, counted (records null) or checked as JSON. True for any other file read; null if not read."),
    ),
)

# The routing fields of a record set as a person names them, each with its record_changes columns;
# record_history (sql/views/record_history.sql) has before_<column> and after_<column> of each.
# What moves traffic without changing a value: the DNS summary and `latest` show their changes.
ROUTING = {
    "weight": ("weight",),
    "failover": ("failover",),
    "region": ("region",),
    "geo": ("geo_continent_code", "geo_country_code", "geo_subdivision_code"),
    "geoproximity": ("geoproximity_aws_region", "geoproximity_local_zone_group", "geoproximity_latitude",
                     "geoproximity_longitude", "geoproximity_bias"),
    "health check": ("health_check_id",),
    "multivalue": ("multi_value_answer",),
    "alias zone": ("alias_hosted_zone_id",),
    "evaluate target health": ("alias_evaluate_target_health",),
    "CIDR": ("cidr_collection_id", "cidr_location_name"),
}
ROUTING_COLUMNS = ", ".join(f"{side}_{c}" for columns in ROUTING.values() for c in columns for side in ("before", "after"))

TABLES: dict[str, Table] = {t.name: t for t in (EVENTS, RECORD_CHANGES, QUARANTINE, SOURCE_FILES)}
