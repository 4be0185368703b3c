"""The bounds on what one log file may cost to read. Beyond a bound the file, or the record, is
quarantined with its own error kind; memory is bounded by these numbers, not by the input."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.errors import ErrorKind, Rejected

MIB = 2**20


@dataclass(frozen=True)
class Limits:
    """Defaults are far above anything CloudTrail writes (a file covers about 5 minutes of one
    account and region; a record's largest fields are capped at 100 KB each)."""

    max_decompressed_bytes: int = 512 * MIB  # a file's JSON text, inflated
    max_expansion_ratio: int = 200  # inflated / compressed; CloudTrail JSON compresses 10-40x, a bomb ~1000x
    max_records_per_file: int = 2_000_000
    max_record_bytes: int = MIB  # one selected record's JSON text; CloudTrail caps its fields at 100 KB each
    max_json_depth: int = 64  # objects and arrays inside one another, in one record

    def inflate_budget(self, compressed: int) -> int:
        """Bytes a file of `compressed` bytes may inflate to. The ratio applies beyond the first
        MiB: a tiny file of a few records compresses far better than any real log file."""
        return min(self.max_decompressed_bytes, self.max_expansion_ratio * compressed + MIB)


DEFAULT_LIMITS = Limits()


def too_deep(limits: Limits) -> Rejected:
    return Rejected(ErrorKind.TOO_DEEP, f"the record nests objects and arrays more than {limits.max_json_depth} levels deep "
                    "(max_json_depth)")


def too_large(size: int, limits: Limits) -> Rejected:
    return Rejected(ErrorKind.RECORD_TOO_LARGE, f"the record's JSON text is {size:,} bytes, more than "
                    f"{limits.max_record_bytes:,} (max_record_bytes)")


def out_of_memory(what: str) -> Rejected:
    return Rejected(ErrorKind.OUT_OF_MEMORY, f"the worker ran out of memory {what}, within the bounds: lower "
                    "max_decompressed_bytes to what a worker can hold, or give it more memory")
