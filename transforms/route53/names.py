"""DNS names and AWS identifiers as analysts compare them."""

from __future__ import annotations

import re

_OCTAL_DIGITS = frozenset("01234567")
# Bytes that stay escaped when a name is written out: the label separator and the escape character
# (so an escaped dot never becomes a label boundary and a backslash never starts an escape), space,
# and ASCII control characters (invisible, and a raw space would be stripped as surrounding blank).
_KEEP_ESCAPED = frozenset(b".\\ \x7f") | frozenset(range(0x20))
_BLANKS = " \t\r\n\x0b\x0c"  # ASCII only: U+3000 and other non-ASCII blanks are characters of a label


def normalize_record_name(name: str | None) -> str | None:
    r"""A DNS name spelt one way per name, as DNS compares names: '\052.Example.com' -> '*.example.com.'.

    Route 53 returns characters other than a-z, 0-9, '-' and '_' as \ooo octal escapes of the
    name's bytes, UTF-8 for non-ASCII characters ('\344\271\213' is 之), and clients send either
    form. The name is read as DNS reads it: labels of bytes, split at unescaped dots.
    - \ooo (octal, at most \377) is one byte; \X any other character X is X itself (RFC 1035).
    - Case is folded for ASCII letters only (DNS is case-insensitive for A-Z alone): 'Ä' stays 'Ä'.
    - Written out, a byte sequence that is valid UTF-8 reads as its characters ('\303\244' -> 'ä');
      an escaped dot ('a\056b', one label "a.b"), a backslash, space, control characters and bytes
      that are not valid UTF-8 stay \ooo escapes; any other ASCII character is written as itself.
    - One trailing dot. ASCII blanks around the name are not part of it (a client's typing).
    So two spellings of one name give one result, distinct names never do, and the function is
    idempotent: normalize_record_name(normalize_record_name(x)) == normalize_record_name(x).
    """
    if name is None:
        return None
    if _PLAIN_NAME.fullmatch(name):  # almost every name: printable ASCII, nothing escaped or to escape
        return name.lower() if name.endswith(".") else name.lower() + "."
    return "".join(_render(label.lower()) + "." for label in name_labels(name)) or "."


# Names that read as they are written: printable ASCII without space or backslash, so no byte needs
# an escape and none is one, and no blank to strip. Their labels split at every dot; lower-casing the
# text folds exactly A-Z; a trailing dot is added unless there is one ("" is handled by the long way).
_PLAIN_NAME = re.compile(r"[!-\[\]-~]+")


def name_labels(name: str) -> list[bytes]:
    """The labels of a name in DNS presentation format, as bytes: escapes decoded, case kept, the
    root (a trailing dot, or nothing) left out: 'a\\056b.Example.com.' -> [b'a.b', b'Example', b'com']."""
    labels = _split(name.strip(_BLANKS))
    if labels[-1] == b"":
        labels.pop()
    return [bytes(label) for label in labels]


def _split(name: str) -> list[bytearray]:
    labels, label, i = [], bytearray(), 0
    while i < len(name):
        char = name[i]
        if char == ".":
            labels.append(label)
            label, i = bytearray(), i + 1
        elif char == "\\" and i + 1 < len(name):
            digits = name[i + 1:i + 4]
            if len(digits) == 3 and set(digits) <= _OCTAL_DIGITS and int(digits, 8) <= 0xFF:
                label.append(int(digits, 8))
                i += 4
            else:
                label += _utf8(name[i + 1])
                i += 2
        else:
            label += _utf8(char)
            i += 1
    labels.append(label)
    return labels


def _utf8(char: str) -> bytes:
    # surrogatepass: a lone surrogate (from a JSON '\ud800') has no UTF-8 form; its would-be bytes
    # are not valid UTF-8, so it is written out escaped, never dropped or merged with another name.
    return char.encode("utf-8", "surrogatepass")


def _render(label: bytes) -> str:
    """A label's bytes written out: valid UTF-8 as characters, everything in _KEEP_ESCAPED and every
    byte that is not valid UTF-8 as \\ooo. Reading the result back (name_labels) gives the same bytes."""
    out = []
    for char in label.decode("utf-8", "surrogateescape"):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for a byte that is not valid UTF-8
            out.append(f"\\{code - 0xDC00:03o}")
        elif code < 0x80 and code in _KEEP_ESCAPED:
            out.append(f"\\{code:03o}")
        else:
            out.append(char)
    return "".join(out)


def strip_prefix(value: str | None, prefix: str) -> str | None:
    """'/hostedzone/Z1' -> 'Z1'; the request side is usually bare, the response side prefixed."""
    if value is None:
        return None
    return value[len(prefix):] if value.lower().startswith(prefix) else value
