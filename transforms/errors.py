"""The fixed vocabulary of reasons an input is quarantined, and the exceptions that carry them."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    # A whole file could not be used.
    EMPTY_FILE = "empty_file"
    NOT_GZIP = "not_gzip"
    TRUNCATED_GZIP = "truncated_gzip"
    CORRUPT_GZIP = "corrupt_gzip"
    UTF8_BOM = "utf8_bom"
    NOT_UTF8 = "not_utf8"
    NDJSON = "ndjson"
    TRAILING_DATA = "trailing_data"
    NOT_JSON = "not_json"
    EVENTBRIDGE_ENVELOPE = "eventbridge_envelope"
    NOT_A_LOG_FILE = "not_a_log_file"
    # One record of an otherwise good file could not be used.
    RECORD_NOT_OBJECT = "record_not_object"
    MISSING_FIELD = "missing_field"
    BAD_FIELD_TYPE = "bad_field_type"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_CHANGE_BATCH = "bad_change_batch"


ERROR_KIND_DOCS: dict[ErrorKind, str] = {
    ErrorKind.EMPTY_FILE: "the object has zero bytes",
    ErrorKind.NOT_GZIP: "the bytes do not start with the gzip magic number (for example plain JSON named .gz)",
    ErrorKind.TRUNCATED_GZIP: "the gzip stream ends before its end-of-stream marker (an interrupted upload)",
    ErrorKind.CORRUPT_GZIP: "the gzip stream is damaged: bad CRC, bad deflate data, or garbage after it",
    ErrorKind.UTF8_BOM: "the JSON starts with a UTF-8 byte order mark, which CloudTrail never writes",
    ErrorKind.NOT_UTF8: "the decompressed bytes are not valid UTF-8",
    ErrorKind.NDJSON: "newline-delimited JSON records instead of one {\"Records\": [...]} document",
    ErrorKind.TRAILING_DATA: "a JSON document followed by other bytes",
    ErrorKind.NOT_JSON: "the decompressed bytes are not JSON",
    ErrorKind.EVENTBRIDGE_ENVELOPE: "an EventBridge event ({\"detail-type\", \"detail\"}) instead of a log file",
    ErrorKind.NOT_A_LOG_FILE: "JSON, but not an object with a Records list (a digest, an empty object, an array...)",
    ErrorKind.RECORD_NOT_OBJECT: "an element of Records is not a JSON object",
    ErrorKind.MISSING_FIELD: "a field every CloudTrail record has (eventTime, eventName) is missing or null",
    ErrorKind.BAD_FIELD_TYPE: "a field has a type that cannot be read as its column's type",
    ErrorKind.BAD_TIMESTAMP: "a timestamp that does not parse",
    ErrorKind.BAD_CHANGE_BATCH: "requestParameters.changeBatch or one of its changes has the wrong shape",
}


class Rejected(Exception):
    """Raised by a transform for input that goes to quarantine rather than to a table."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
