"""SDP parsing and RFC 3264 offer/answer for audio: codecs, telephone-event, hold and resume."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.telephony.sip.errors import SdpError
from hotline.telephony.sip.sdp import (
    PCMA,
    PCMU,
    Direction,
    SessionDescription,
    build_answer,
    build_offer,
    negotiate,
    with_direction,
)

# The offer a softphone typically sends: PCMU, PCMA, telephone-event 101, and a video stream.
PHONE_OFFER = (
    b"v=0\r\n"
    b"o=- 3871212339 3871212339 IN IP4 192.0.2.10\r\n"
    b"s=phone\r\n"
    b"c=IN IP4 192.0.2.10\r\n"
    b"t=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0 8 96 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:96 opus/48000/2\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=ptime:30\r\n"
    b"a=sendrecv\r\n"
    b"m=video 40002 RTP/AVP 97\r\n"
    b"a=rtpmap:97 H264/90000\r\n"
)


def offer_with(replacements: dict[bytes, bytes]) -> SessionDescription:
    data = PHONE_OFFER
    for old, new in replacements.items():
        assert old in data
        data = data.replace(old, new)
    return SessionDescription.parse(data)


def test_phone_offer_parses_codecs_in_order_with_payload_types() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    audio = offer.media[0]
    assert [(c.name, c.payload_type) for c in audio.codecs()] == [
        ("PCMU", 0),
        ("PCMA", 8),
        ("opus", 96),
        ("telephone-event", 101),
    ]
    assert audio.codecs()[2].channels == 2
    assert audio.ptime == 30
    assert offer.media_direction(audio) is Direction.SENDRECV
    assert offer.origin.session_version == 3871212339


def test_encode_then_parse_round_trips() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    assert SessionDescription.parse(offer.encode()).encode() == offer.encode()


def test_answer_keeps_offerer_payload_types_and_rejects_video_with_port_zero() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    answer, session = build_answer(offer, address="127.0.0.1", port=20000)
    assert len(answer.media) == 2
    audio, video = answer.media
    assert audio.port == 20000
    assert audio.formats == ["0", "8", "101"]
    assert "101 0-15" in audio.attributes_named("fmtp")
    assert (video.media, video.port) == ("video", 0)
    assert session.codec == PCMU
    assert session.telephone_event == 101
    assert (session.remote_address, session.remote_port) == ("192.0.2.10", 40000)
    assert session.ptime == 30
    assert session.direction is Direction.SENDRECV
    assert answer.connection is not None
    assert answer.connection.address == "127.0.0.1"


def test_answer_prefers_the_offerers_order() -> None:
    offer = offer_with({b"RTP/AVP 0 8 96 101": b"RTP/AVP 8 0 101"})
    _, session = build_answer(offer, address="127.0.0.1", port=20000)
    assert session.codec == PCMA
    assert session.codecs == (PCMA, PCMU)


def test_answer_with_only_our_codecs_that_were_offered() -> None:
    offer = offer_with({b"RTP/AVP 0 8 96 101": b"RTP/AVP 96 8"})
    answer, session = build_answer(offer, address="127.0.0.1", port=20000, codecs=[PCMU, PCMA])
    assert answer.media[0].formats == ["8"]
    assert session.telephone_event is None


def test_offer_without_a_common_codec_is_488() -> None:
    offer = offer_with({b"RTP/AVP 0 8 96 101": b"RTP/AVP 96"})
    with pytest.raises(SdpError) as info:
        build_answer(offer, address="127.0.0.1", port=20000)
    assert info.value.status == 488


def test_srtp_only_offer_is_488() -> None:
    offer = offer_with({b"RTP/AVP 0 8 96 101": b"RTP/SAVP 0 8"})
    with pytest.raises(SdpError) as info:
        build_answer(offer, address="127.0.0.1", port=20000)
    assert info.value.status == 488


@pytest.mark.parametrize(
    ("offered", "answered", "we_send", "we_receive"),
    [
        (b"a=sendonly", "recvonly", False, True),  # they hold us: music from them, we listen
        (b"a=recvonly", "sendonly", True, False),
        (b"a=inactive", "inactive", False, False),
        (b"a=sendrecv", "sendrecv", True, True),
    ],
)
def test_answer_mirrors_the_offered_direction(
    offered: bytes, answered: str, we_send: bool, we_receive: bool
) -> None:
    offer = offer_with({b"a=sendrecv": offered})
    answer, session = build_answer(offer, address="127.0.0.1", port=20000)
    assert answer.media[0].direction == Direction(answered)
    assert (session.direction.sends, session.direction.receives) == (we_send, we_receive)


def test_old_style_hold_with_zero_address_stops_our_sending() -> None:
    offer = offer_with({b"c=IN IP4 192.0.2.10": b"c=IN IP4 0.0.0.0"})
    _, session = build_answer(offer, address="127.0.0.1", port=20000)
    assert session.on_hold
    assert session.direction is Direction.RECVONLY


def test_session_level_direction_applies_when_media_has_none() -> None:
    offer = offer_with({b"a=sendrecv\r\n": b"", b"t=0 0\r\n": b"t=0 0\r\na=inactive\r\n"})
    _, session = build_answer(offer, address="127.0.0.1", port=20000)
    assert session.direction is Direction.INACTIVE


def test_offer_and_answer_between_two_sides_agree() -> None:
    offer = build_offer(address="127.0.0.1", port=30000, codecs=[PCMA, PCMU])
    answer, answerer_view = build_answer(
        SessionDescription.parse(offer.encode()), address="127.0.0.2", port=40000
    )
    offerer_view = negotiate(offer, SessionDescription.parse(answer.encode()))
    assert offerer_view.codec == answerer_view.codec == PCMA
    assert (offerer_view.remote_address, offerer_view.remote_port) == ("127.0.0.2", 40000)
    assert (answerer_view.remote_address, answerer_view.remote_port) == ("127.0.0.1", 30000)
    assert offerer_view.telephone_event == answerer_view.telephone_event == 101


def test_hold_then_resume_by_re_offer() -> None:
    offer = build_offer(address="127.0.0.1", port=30000)
    hold = with_direction(offer, Direction.SENDONLY)
    assert hold.origin.session_version == offer.origin.session_version + 1
    answer, held = build_answer(hold, address="127.0.0.2", port=40000)
    assert answer.media[0].direction is Direction.RECVONLY
    assert negotiate(hold, answer).direction is Direction.SENDONLY
    assert held.on_hold
    resume = with_direction(hold, Direction.SENDRECV)
    assert resume.origin.session_version == offer.origin.session_version + 2
    _, resumed = build_answer(resume, address="127.0.0.2", port=40000)
    assert resumed.direction is Direction.SENDRECV


def test_answer_that_rejects_audio_is_488_for_the_offerer() -> None:
    offer = build_offer(address="127.0.0.1", port=30000)
    answer, _ = build_answer(offer, address="127.0.0.2", port=40000)
    answer.media[0].port = 0
    with pytest.raises(SdpError) as info:
        negotiate(offer, answer)
    assert info.value.status == 488


def test_re_answer_with_the_previous_origin_increments_its_version() -> None:
    offer = build_offer(address="127.0.0.1", port=30000)
    first, _ = build_answer(offer, address="127.0.0.2", port=40000)
    second, _ = build_answer(offer, address="127.0.0.2", port=40000, origin=first.origin)
    assert second.origin.session_id == first.origin.session_id
    assert second.origin.session_version == first.origin.session_version + 1


@pytest.mark.parametrize(
    "body",
    [b"", b"hello", b"v=1\r\n", b"v=0\r\ns=x\r\n", b"v=0\r\no=a b\r\n", b"v=0\r\nxx\r\n"],
)
def test_broken_sdp_is_a_400(body: bytes) -> None:
    with pytest.raises(SdpError) as info:
        SessionDescription.parse(body)
    assert info.value.status == 400


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, len(PHONE_OFFER)))
def test_damaged_sdp_raises_nothing_but_sdp_errors(noise: bytes, at: int) -> None:
    data = PHONE_OFFER[:at] + noise + PHONE_OFFER[at:]
    try:
        offer = SessionDescription.parse(data)
        build_answer(offer, address="127.0.0.1", port=20000)
    except SdpError as exc:
        assert exc.status in (400, 488)  # noqa: PT017 - the property is about the status


def test_absurd_ptime_is_ignored() -> None:
    offer = offer_with({b"a=ptime:30": b"a=ptime:1e400"})
    _, session = build_answer(offer, address="127.0.0.1", port=20000, ptime=20)
    assert session.ptime == 20
