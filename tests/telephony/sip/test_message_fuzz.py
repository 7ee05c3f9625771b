"""Fuzzing the parser: whatever arrives, `parse` raises nothing but SipParseError, and a message
it accepts can be read through every typed view and re-encoded into a message it accepts again."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.telephony.sip.errors import SipParseError
from hotline.telephony.sip.message import SipMessage, SipRequest, make_response, parse
from tests.telephony.sip import samples

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that matter to the grammar, so that mutations hit interesting paths.
SPECIAL = st.sampled_from(
    [
        b"\r\n",
        b"\n",
        b" ",
        b"\t",
        b":",
        b";",
        b",",
        b"<",
        b">",
        b'"',
        b"\\",
        b"=",
        b"@",
        b"/",
        b"[",
        b"]",
        b"?",
        b"\x00",
        b"\xff",
        b"\xc3",
        b"0",
        b"9" * 12,
        b"-",
        b"SIP/2.0",
        b"tag=",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(samples.ALL)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.integers(0, 4))
        if kind == 0:
            data[at] = draw(st.integers(0, 255))
        elif kind == 1:
            del data[at : at + draw(st.integers(1, 20))]
        elif kind == 2:
            data[at:at] = draw(SPECIAL)
        elif kind == 3:
            data = data[:at]
        else:
            data[at:at] = draw(st.binary(max_size=8))
    return bytes(data)


def exercise(message: SipMessage) -> None:
    """Every typed view either works or raises SipParseError."""
    views = (
        "call_id",
        "cseq",
        "from_",
        "to",
        "vias",
        "top_via",
        "contacts",
        "record_routes",
        "routes",
        "max_forwards",
        "expires",
        "content_type",
        "contact_is_star",
    )
    for name in views:
        with contextlib.suppress(SipParseError):
            getattr(message, name)


def check(data: bytes, stream: bool) -> None:
    error: SipParseError | None = None
    try:
        message = parse(data, stream=stream)
    except SipParseError as exc:
        error = exc
    if error is not None:
        assert 400 <= error.status <= 599
        if isinstance(error.partial, SipRequest):
            # A response to a broken request can always be built and encoded.
            response = make_response(error.partial, error.status, error.reason)
            assert response.encode().startswith(b"SIP/2.0 %d " % error.status)
        return
    exercise(message)
    again = parse(message.encode(), stream=True)
    assert again.start_line() == message.start_line()
    assert again.body == message.body


@FUZZ
@given(mutated(), st.booleans())
def test_mutated_real_messages_never_raise_anything_but_parse_errors(data: bytes, s: bool) -> None:
    check(data, s)


@FUZZ
@given(st.binary(max_size=2000), st.booleans())
def test_random_bytes_never_raise_anything_but_parse_errors(data: bytes, stream: bool) -> None:
    check(data, stream)
