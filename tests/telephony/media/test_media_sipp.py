"""SIPp as the caller: its own RTP (pcap playback of speech and RFC 4733 key presses) reaches a
media endpoint, which collects the digits and records the speech.

SIPp plays pcaps only inside a call, so a few lines here answer its INVITE with an SDP that points
at the endpoint: just enough SIP for SIPp, nothing of Hotline's SIP stack."""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import pytest_asyncio

from hotline.telephony.media import g711, rtp
from hotline.telephony.media.config import MediaConfig
from hotline.telephony.media.engine import CollectDone, LocalMediaEngine, MediaEvent
from hotline.telephony.media.g711 import Codec
from hotline.telephony.media.peer import read_pcap_rtp

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (sip-tester) is not installed"),
]

PCAPS = Path("/usr/share/sip-tester")
SPEECH_PACKETS = 34  # about one second of g711a.pcap (30 ms packets)

SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller with speech and keys">
  <send retrans="500"><![CDATA[
INVITE sip:line@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:line@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[local_ip_type] [local_ip]
t=0 0
m=audio [auto_media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
]]></send>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:line@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:line@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <nop><action><exec play_pcap_audio="speech.pcap"/></action></nop>
  <pause milliseconds="1300"/>
  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_1.pcap"/></action></nop>
  <pause milliseconds="300"/>
  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_2.pcap"/></action></nop>
  <pause milliseconds="300"/>
  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_pound.pcap"/></action></nop>
  <pause milliseconds="300"/>
  <send retrans="500"><![CDATA[
BYE sip:line@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:line@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
"""


def truncate_pcap(source: Path, target: Path, count: int) -> None:
    """The first `count` packets of a pcap file (little-endian microsecond pcaps, as SIPp's)."""
    data = source.read_bytes()
    offset = 24
    for _ in range(count):
        (included,) = struct.unpack_from("<I", data, offset + 8)
        offset += 16 + included
    target.write_bytes(data[:offset])


class Answerer(asyncio.DatagramProtocol):
    """Answers SIPp's INVITE with the endpoint's SDP once told to (as the call layer answers
    only when the endpoint is ready), its BYE with 200; tells where the caller's RTP comes from."""

    def __init__(self, media_port: int) -> None:
        self.media_port = media_port
        self.caller_media: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.DatagramTransport | None = None
        self.invite: tuple[bytes, tuple[str, int]] | None = None
        self.answering = False

    def answer(self) -> None:
        self.answering = True
        if self.invite is not None:
            self.datagram_received(*self.invite)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        text = data.decode(errors="replace").replace("\r\n", "\n")
        head, _, body = text.partition("\n\n")
        lines = head.split("\n")
        method = lines[0].split(" ", 1)[0]
        if method not in ("INVITE", "BYE"):
            return
        if method == "INVITE" and not self.answering:
            self.invite = (data, addr)
            match = re.search(r"^m=audio (\d+)", body, re.MULTILINE)
            if match and not self.caller_media.done():
                self.caller_media.set_result(int(match.group(1)))
            return
        wanted = ("via:", "from:", "to:", "call-id:", "cseq:")
        headers = [line for line in lines[1:] if line.lower().startswith(wanted)]
        headers = [h + ";tag=hotline" if h.lower().startswith("to:") else h for h in headers]
        sdp = ""
        if method == "INVITE":
            sdp = (
                "v=0\no=hotline 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
                f"m=audio {self.media_port} RTP/AVP 8 101\na=rtpmap:8 PCMA/8000\n"
                "a=rtpmap:101 telephone-event/8000\n"
            )
            headers += ["Contact: <sip:line@127.0.0.1>", "Content-Type: application/sdp"]
        response = "SIP/2.0 200 OK\n" + "\n".join(headers)
        response += f"\nContent-Length: {len(sdp)}\n\n{sdp}"
        assert self.transport is not None
        self.transport.sendto(response.replace("\n", "\r\n").encode(), addr)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine() -> AsyncIterator[LocalMediaEngine]:
    config = MediaConfig(address="127.0.0.1", port_min=42200, port_max=42299, workers=1)
    async with LocalMediaEngine(config) as media:
        yield media


async def test_sipp_speech_is_recorded_and_its_keys_collected(
    engine: LocalMediaEngine, tmp_path: Path
) -> None:
    (tmp_path / "pcap").symlink_to(PCAPS)
    truncate_pcap(PCAPS / "g711a.pcap", tmp_path / "speech.pcap", SPEECH_PACKETS)
    (tmp_path / "caller.xml").write_text(SCENARIO)
    events: list[MediaEvent] = []
    engine.subscribe(events.append)

    endpoint = await engine.allocate()
    loop = asyncio.get_running_loop()
    transport, answerer = await loop.create_datagram_endpoint(
        lambda: Answerer(endpoint.port), local_addr=("127.0.0.1", 0)
    )
    sip_port = transport.get_extra_info("sockname")[1]
    sipp = await asyncio.create_subprocess_exec(
        "sipp",
        f"127.0.0.1:{sip_port}",
        "-sf",
        "caller.xml",
        "-i",
        "127.0.0.1",
        "-ci",
        "127.0.0.1",
        "-mp",
        "42400",
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        "20s",
        "-timeout_error",
        cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        caller_port = await asyncio.wait_for(answerer.caller_media, 10)
        await engine.set_remote(
            endpoint.endpoint_id,
            address="127.0.0.1",
            port=caller_port,
            codec=Codec.PCMA,
            telephone_event_pt=101,
        )
        await engine.record_start(endpoint.endpoint_id, tmp_path / "contact.wav")
        collect_id = await engine.collect_digits(
            endpoint.endpoint_id, max_digits=5, terminators="#", first_digit_timeout=10
        )
        answerer.answer()
        _, errors = await asyncio.wait_for(sipp.communicate(), 30)
    finally:
        if sipp.returncode is None:
            sipp.kill()
            await sipp.wait()
        transport.close()
    assert sipp.returncode == 0, errors.decode(errors="replace")[-2000:]

    await engine.record_stop(endpoint.endpoint_id)
    quality = await engine.release(endpoint.endpoint_id)
    assert [e for e in events if isinstance(e, CollectDone)] == [
        CollectDone(endpoint.endpoint_id, collect_id, "12", "terminator", "#")
    ]
    assert quality is not None
    assert quality.packets_received == SPEECH_PACKETS + 3 * 8
    assert quality.streams == 2  # the speech, then the key presses (captured in another call)

    # the caller's speech is on the left channel, sample for sample
    speech = read_pcap_rtp(str(tmp_path / "speech.pcap"))
    reference = g711.decode(b"".join(rtp.parse_rtp(d).payload for _, d in speech), Codec.PCMA)
    with wave.open(str(tmp_path / "contact.wav"), "rb") as wav:
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    left = audio[:, 0].astype(np.float64)
    ref = reference.astype(np.float64)
    scores = np.correlate(left - left.mean(), ref - ref.mean(), mode="valid")
    start = int(np.argmax(scores))
    window = left[start : start + len(ref)]
    assert np.array_equal(window.astype(np.int16), reference)
    assert not np.any(audio[:, 1])  # nothing was sent to the caller
