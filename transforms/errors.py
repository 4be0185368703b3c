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
    FILE_TOO_LARGE = "file_too_large"
    COMPRESSION_RATIO = "compression_ratio"
    TOO_MANY_RECORDS = "too_many_records"
    OUT_OF_MEMORY = "out_of_memory"
    # One record of an otherwise good file could not be used.
    RECORD_NOT_OBJECT = "record_not_object"
    MISSING_FIELD = "missing_field"
    BAD_FIELD_TYPE = "bad_field_type"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_CHANGE_BATCH = "bad_change_batch"
    IMPLAUSIBLE_TIME = "implausible_time"
    INVALID_UNICODE = "invalid_unicode"
    RECORD_TOO_LARGE = "record_too_large"
    TOO_DEEP = "too_deep"


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
    ErrorKind.FILE_TOO_LARGE: "the file inflates to more than max_decompressed_bytes (inflating stops there; nothing of it is read)",
    ErrorKind.COMPRESSION_RATIO: "the file inflates to more than max_expansion_ratio times its compressed size (a gzip bomb; inflating stops there)",
    ErrorKind.TOO_MANY_RECORDS: "the file holds more than max_records_per_file records",
    ErrorKind.OUT_OF_MEMORY: "the worker ran out of memory reading the file, within the bounds: lower max_decompressed_bytes to "
    "what a worker can hold, or give it more memory (a rerun reads the file again)",
    ErrorKind.RECORD_NOT_OBJECT: "an element of Records is not a JSON object",
    ErrorKind.MISSING_FIELD: "a field every CloudTrail record has (eventTime, eventName) is missing or null",
    ErrorKind.BAD_FIELD_TYPE: "eventSource or eventName has a type that cannot be read as text, or eventTime is not a string "
    "(other fields that cannot be read become null and are named in parse_warnings)",
    ErrorKind.BAD_TIMESTAMP: "eventTime is not a time in any format AWS writes, or not a real date",
    ErrorKind.BAD_CHANGE_BATCH: "requestParameters.changeBatch, its changes, one change or its resourceRecordSet is not an object "
    "or array where one belongs: the batch cannot be read as changes",
    ErrorKind.IMPLAUSIBLE_TIME: "eventTime has a UTC offset beyond ±18:00, or is before CloudTrail existed (2013-11-01) or more "
    "than a day after the run started: it would go to a wrong or unreachable event_date partition",
    ErrorKind.INVALID_UNICODE: "eventName is text that is not valid Unicode (a lone surrogate escape such as \\ud800, or bytes "
    "that are not UTF-8)",
    ErrorKind.RECORD_TOO_LARGE: "a selected record's JSON text is longer than max_record_bytes; raw is null (read it at "
    "source_file, record_index)",
    ErrorKind.TOO_DEEP: "a selected record nests objects and arrays deeper than max_json_depth; raw is null (read it at "
    "source_file, record_index)",
}


class Rejected(Exception):
    """Raised by a transform for input that goes to quarantine rather than to a table."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
