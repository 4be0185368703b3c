"""record_name_normalized: one spelling per DNS name, as DNS compares names (transforms/route53/names.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.route53.names import name_labels, normalize_record_name


@pytest.mark.parametrize(("sent", "normalized"), [
    ("\\052.Example.COM", "*.example.com."),  # Route 53's escape of '*', decoded
    ("a\\056b.example.com.", "a\\056b.example.com."),  # one label "a.b": the escaped dot stays escaped
    ("a.b.example.com.", "a.b.example.com."),
    ("\\303\\244.example.com.", "ä.example.com."),  # the UTF-8 bytes of 'ä'
    ("\\344\\271\\213.example.", "之.example."),  # Route 53's own documentation example
    ("\\303\\204X.Example.", "Äx.example."),  # ASCII case only: 'Ä' is not folded
    ("\\343\\204x.example.", "\\343\\204x.example."),  # not valid UTF-8: kept escaped
    ("a\\\\b.example", "a\\134b.example."),  # a literal backslash is written as an escape
    ("a\\-b.example", "a-b.example."),  # \X is X (RFC 1035)
    ("\\040space.example", "\\040space.example."),
    ("  www.Example.com  ", "www.example.com."),
    ("", "."),
    (".", "."),
    (None, None),
])
def test_normalized_spelling(sent, normalized):
    assert normalize_record_name(sent) == normalized


def test_escaped_dot_is_one_label_not_two():
    assert name_labels("a\\056b.example.com.") == [b"a.b", b"example", b"com"]
    assert normalize_record_name("a\\056b.example.com.") != normalize_record_name("a.b.example.com.")


def test_different_bytes_never_share_a_name():
    # \303\204 is 'Ä'; \343\204 is not valid UTF-8; Unicode lower-casing made both 'ã...'
    assert normalize_record_name("\\303\\204x.example.") != normalize_record_name("\\343\\204x.example.")


def test_non_ascii_blank_is_part_of_the_name():
    assert normalize_record_name("x\u3000.example") != normalize_record_name("x.example")


# A DNS name: labels of 1 to 20 arbitrary bytes. Spelt in presentation format in any of the ways a
# client or Route 53 may: each byte escaped as \ooo, or a character written as itself where that is
# unambiguous, or \X for an ASCII punctuation character.
labels = st.lists(st.binary(min_size=1, max_size=20), min_size=1, max_size=5)


@st.composite
def spelling(draw, name: list[bytes]) -> str:
    spelt = []
    for label in name:
        out = []
        for char in label.decode("utf-8", "surrogateescape"):
            raw = char.encode("utf-8", "surrogateescape")
            plain = not (0xDC80 <= ord(char) <= 0xDCFF) and char not in ".\\" and ord(char) > 0x20 and char != "\x7f"
            choices = ["escape"] + (["plain"] if plain else []) + (["backslash"] if plain and char.isascii() and not char.isalnum() else [])
            how = draw(st.sampled_from(choices))
            out.append(char if how == "plain" else "\\" + char if how == "backslash" else "".join(f"\\{b:03o}" for b in raw))
        spelt.append("".join(out))
    return ".".join(spelt) + draw(st.sampled_from(["", "."]))


def lowered(name: list[bytes]) -> list[bytes]:
    return [label.lower() for label in name]  # bytes.lower() folds A-Z only, as DNS does


@settings(max_examples=400, deadline=None)
@given(st.data(), labels)
def test_idempotent(data, name):
    once = normalize_record_name(data.draw(spelling(name)))
    assert normalize_record_name(once) == once


@settings(max_examples=400, deadline=None)
@given(st.data(), labels)
def test_normalized_name_is_the_dns_name(data, name):
    """The normalised spelling reads back as exactly the name's labels, ASCII-lower-cased: so two
    distinct DNS names (labels that differ other than by ASCII case) never share one."""
    assert name_labels(normalize_record_name(data.draw(spelling(name)))) == lowered(name)


@pytest.mark.slow  # a few seconds: make check leaves it to make test
@settings(max_examples=400, deadline=None)
@given(st.data(), labels, labels)
def test_distinct_names_never_map_together(data, first, second):
    a, b = normalize_record_name(data.draw(spelling(first))), normalize_record_name(data.draw(spelling(second)))
    assert (a == b) == (lowered(first) == lowered(second))


@pytest.mark.slow  # a few seconds: make check leaves it to make test
@settings(max_examples=400, deadline=None)
@given(st.data(), labels)
def test_spellings_and_ascii_case_variants_map_together(data, name):
    variant = [bytes(b ^ 0x20 if data.draw(st.booleans()) and chr(b).isascii() and chr(b).isalpha() else b for b in label)
               for label in name]
    assert normalize_record_name(data.draw(spelling(name))) == normalize_record_name(data.draw(spelling(variant)))


def _long_way(name: str) -> str:
    from transforms.route53.names import _render
    return "".join(_render(label.lower()) + "." for label in name_labels(name)) or "."


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from("aZ09.-_*\\ \t\x7f!~[]{}é之\x00"), max_size=12))
def test_plain_names_shortcut_gives_what_reading_labels_gives(name):
    # normalize_record_name takes a shortcut for printable ASCII names: the same result as reading them label by label
    assert normalize_record_name(name) == _long_way(name)
