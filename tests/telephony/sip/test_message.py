"""Parsing, checking and serializing SIP messages (RFC 3261 §7, §8.2, §18.3, §20)."""

from __future__ import annotations

import pytest

from hotline.telephony.sip.errors import SipParseError
from hotline.telephony.sip.message import (
    CSeq,
    Headers,
    NameAddr,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    make_response,
    parse,
)
from tests.telephony.sip import samples


def parse_request(data: bytes) -> SipRequest:
    message = parse(data)
    assert isinstance(message, SipRequest)
    return message


def status_of(data: bytes, **kwargs: object) -> int:
    with pytest.raises(SipParseError) as info:
        parse(data, **kwargs)  # type: ignore[arg-type]
    return info.value.status


def test_invite_is_parsed_with_typed_headers() -> None:
    invite = parse_request(samples.INVITE)
    assert invite.method == "INVITE"
    assert invite.uri == SipUri(host="biloxi.example.com", user="bob")
    assert invite.from_.display_name == "Alice"
    assert invite.from_.tag == "9fxced76sl"
    assert invite.to.tag is None
    assert invite.cseq == CSeq(1, "INVITE")
    assert invite.top_via.branch == "z9hG4bK74bf9"
    assert invite.top_via.sent_by == ("client.atlanta.example.com", 5060)
    assert invite.max_forwards == 70
    assert invite.content_type == "application/sdp"
    assert invite.body.startswith(b"v=0\r\n")
    assert len(invite.body) == 151


def test_compact_forms_folding_and_lws_are_understood() -> None:
    message = parse_request(samples.COMPACT_FOLDED)
    assert message.to.tag == "1918181833n"
    assert message.from_.display_name == 'J Rosenberg \\"'
    assert message.from_.tag == "98asjd8"
    assert message.max_forwards == 68
    assert message.cseq == CSeq(9, "OPTIONS")
    vias = message.vias
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert vias[0].params["rport"] is None
    (contact,) = message.contacts
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert message.body == b""


def test_comma_separated_contacts_become_separate_values() -> None:
    register = parse_request(samples.REGISTER)
    contacts = register.contacts
    assert [str(c.uri) for c in contacts] == ["sip:bob@192.0.2.4", "sip:bob@192.0.2.5:5062"]
    assert contacts[0].params == {"expires": "7200"}
    assert register.expires == 3600


def test_response_record_route_list_keeps_order() -> None:
    response = parse(samples.RESPONSE_180)
    assert isinstance(response, SipResponse)
    assert response.status == 180
    assert response.reason == "Ringing"
    assert [r.uri.host for r in response.record_routes if r.uri] == [
        "p1.example.com",
        "p2.example.com",
    ]
    assert response.top_via.params["received"] == "192.0.2.101"


@pytest.mark.parametrize("sample", samples.ALL)
def test_serialize_then_parse_gives_the_same_message(sample: bytes) -> None:
    first = parse(sample)
    second = parse(first.encode())
    assert second.start_line() == first.start_line()
    assert list(second.headers) == list(first.headers)
    assert second.body == first.body


def test_encode_writes_content_length_from_the_body() -> None:
    request = parse_request(samples.INVITE)
    request.body = b"v=0\r\n"
    assert b"\r\nContent-Length: 5\r\n\r\nv=0\r\n" in request.encode()


def test_sip_uri_with_user_password_port_params_and_headers_round_trips() -> None:
    text = "sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?subject=project"
    uri = SipUri.parse(text)
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips",
        "alice",
        "secret",
        "[2001:db8::1]",
        5061,
    )
    assert uri.params == {"transport": "tcp", "lr": None}
    assert uri.transport == "tcp"
    assert uri.loose_route
    assert str(uri) == text


def test_name_addr_in_addr_spec_form_gives_params_to_the_header() -> None:
    value = NameAddr.parse("sip:bob@example.com;tag=abc")
    assert value.tag == "abc"
    assert value.uri is not None
    assert value.uri.params == {}


def test_tel_uri_in_from_is_kept_as_text() -> None:
    value = NameAddr.parse("<tel:+12025550123>;tag=x")
    assert value.uri is None
    assert value.uri_text == "tel:+12025550123"
    assert str(value) == "<tel:+12025550123>;tag=x"


def test_headers_are_case_insensitive_and_multi_valued() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a"), ("VIA", "SIP/2.0/UDP b"), ("i", "x")])
    assert headers.get_all("Via") == ["SIP/2.0/UDP a", "SIP/2.0/UDP b"]
    assert headers.get("call-id") == "x"
    headers.set("via", "SIP/2.0/UDP c")
    assert headers.get_all("v") == ["SIP/2.0/UDP c"]
    assert list(headers) == [("Via", "SIP/2.0/UDP c"), ("Call-ID", "x")]


def test_via_rport_and_received_serialize() -> None:
    via = Via.parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport")
    via.params["received"] = "192.0.2.9"
    via.params["rport"] = "40000"
    assert str(via) == "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport=40000;received=192.0.2.9"


# --- the statuses a bad message deserves ---------------------------------------------------


def replace(sample: bytes, old: bytes, new: bytes) -> bytes:
    assert old in sample
    return sample.replace(old, new, 1)


def test_content_length_larger_than_datagram_is_400() -> None:
    data = replace(samples.INVITE, b"Content-Length: 151", b"Content-Length: 400")
    with pytest.raises(SipParseError) as info:
        parse(data)
    assert info.value.status == 400
    assert "Content-Length" in info.value.reason
    assert info.value.partial is not None  # enough to route a 400 back


def test_bytes_past_content_length_on_a_datagram_are_discarded() -> None:
    data = replace(samples.INVITE, b"Content-Length: 151", b"Content-Length: 10")
    assert parse(data).body == b"v=0\r\no=ali"


def test_missing_content_length_on_a_stream_is_400() -> None:
    data = replace(samples.REGISTER, b"Content-Length: 0\r\n", b"")
    assert status_of(data, stream=True) == 400
    assert parse(data).body == b""  # fine on a datagram


def test_message_larger_than_the_limit_is_413() -> None:
    head_size = samples.INVITE.index(b"\r\n\r\n") + 4
    assert status_of(samples.INVITE, max_size=head_size + 150) == 413
    assert parse(samples.INVITE, max_size=head_size + 151).body.endswith(b"PCMU/8000\r\n")


def test_header_section_larger_than_the_limit_is_513() -> None:
    assert status_of(samples.REGISTER + b"x" * 200, max_size=64) == 513


def test_unsupported_version_is_505() -> None:
    data = replace(samples.INVITE, b"SIP/2.0\r\n", b"SIP/3.0\r\n")
    assert status_of(data) == 505


def test_unsupported_uri_scheme_is_416() -> None:
    data = replace(samples.INVITE, b"INVITE sip:bob@biloxi", b"INVITE http://bob@biloxi")
    assert status_of(data) == 416


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"Call-ID: 3848276298220188511@atlanta.example.com\r\n", "Missing Call-ID header"),
        (b"CSeq: 1 INVITE\r\n", "Missing CSeq header"),
        (b"Max-Forwards: 70\r\n", "Missing Max-Forwards header"),
        (b"To: Bob <sip:bob@biloxi.example.com>\r\n", "Missing To header"),
        (samples.INVITE.split(b"\r\n")[1] + b"\r\n", "Missing Via header"),
    ],
)
def test_missing_mandatory_header_is_400_naming_it(header: bytes, reason: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse(replace(samples.INVITE, header, b""))
    assert info.value.status == 400
    assert info.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"CSeq: 1 INVITE", b"CSeq: 1 BYE", "CSeq method does not match request method"),
        (b"CSeq: 1 INVITE", b"CSeq: one INVITE", "Malformed CSeq header"),
        (b"Max-Forwards: 70", b"Max-Forwards: seventy", "Malformed Max-Forwards header"),
        (b"Content-Length: 151", b"Content-Length: -1", "Malformed Content-Length header"),
        (b"To: Bob <sip:bob@biloxi.example.com>", b"To: Bob <sip:bob@", "Malformed To"),
        (b"Via: SIP/2.0/UDP client", b"Via: SIP/2.0 client", "Malformed Via header"),
        (b"Max-Forwards: 70\r\n", b"Max-Forwards 70\r\n", "Malformed header line"),
    ],
)
def test_malformed_header_is_400_naming_the_problem(old: bytes, new: bytes, reason: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse(replace(samples.INVITE, old, new))
    assert info.value.status == 400
    assert info.value.reason.startswith(reason)


def test_garbage_is_400_without_a_partial_message() -> None:
    with pytest.raises(SipParseError) as info:
        parse(b"\x00\x01 hello there\r\n\r\n")
    assert info.value.status == 400
    assert info.value.partial is None


# --- responses built from requests (§8.2.6) --------------------------------------------------


def test_make_response_copies_the_transaction_headers_and_adds_a_to_tag() -> None:
    invite = parse_request(samples.COMPACT_FOLDED.replace(b";   tag    = 1918181833n", b""))
    response = make_response(invite, 486, to_tag="totag")
    assert response.headers.get_all("via") == invite.headers.get_all("via")
    assert response.headers.get("from") == invite.headers.get("from")
    assert response.headers.get("call-id") == invite.call_id
    assert response.cseq == invite.cseq
    assert response.to.tag == "totag"
    assert response.reason == "Busy Here"
    again = parse(response.encode())
    assert isinstance(again, SipResponse)
    assert again.status == 486


def test_make_response_keeps_an_existing_to_tag_and_adds_none_to_100() -> None:
    invite = parse_request(samples.INVITE)
    assert make_response(invite, 100).to.tag is None
    message = parse_request(samples.COMPACT_FOLDED)
    assert make_response(message, 200, to_tag="other").to.tag == "1918181833n"
