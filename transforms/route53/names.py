"""DNS names and AWS identifiers as analysts compare them."""

from __future__ import annotations

import re

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def normalize_record_name(name: str | None) -> str | None:
    r"""Lower case, one trailing dot, octal escapes decoded: '\052.Example.com' -> '*.example.com.'.

    Route 53 returns names with special characters as \ooo octal escapes, and clients send either
    form, so the same record can arrive spelled several ways.
    """
    if name is None:
        return None
    name = name.strip()
    if "\\" in name:
        name = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), name)
    lowered = name.lower()
    return lowered if lowered.endswith(".") else lowered + "."


def strip_prefix(value: str | None, prefix: str) -> str | None:
    """'/hostedzone/Z1' -> 'Z1'; the request side is usually bare, the response side prefixed."""
    if value is None:
        return None
    return value[len(prefix):] if value.lower().startswith(prefix) else value
