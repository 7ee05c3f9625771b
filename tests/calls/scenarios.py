"""SIPp scenarios for the call path, written per test: a caller (UAC) that dials a line, presses
keys by playing SIPp's RFC 4733 recordings (`pcap/dtmf_2833_*.pcap`) and hangs up or waits for
Hotline to; an agent's phone (UAS) that answers or rings; a callee (UAS) that answers a callback
and hangs up. Media either on SIPp's own port (`[media_port]`, where its pcaps play from) or on
a port of a test `RtpPeer` that counts what it receives."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

CALLER_NUMBER = "79990001122"

_HEAD = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="{name}">\n'

_SDP = """v=0
o=user1 53655765 2353687637 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio {port} RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
"""

_INVITE = """  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:{caller}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{sdp}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:{caller}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>
"""

_BYE = """  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:{caller}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
"""

_AWAIT_BYE = """  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
"""

_ANSWER = """  <recv request="INVITE">
    <action>
      <ereg regexp="[^ ].*" search_in="hdr" header="From:" assign_to="remote_from"/>
      <ereg regexp="sip:[^>;]+" search_in="hdr" header="Contact:" assign_to="remote_contact"/>
    </action>
  </recv>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0
]]></send>
  <pause milliseconds="{ring_ms}"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{sdp}]]></send>
  <recv request="ACK" crlf="true"/>
"""

_CALLEE_BYE = """  <send retrans="500"><![CDATA[
BYE [$remote_contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:callee@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$remote_from]
Call-ID: [call_id]
CSeq: 1 BYE
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
"""


def _sdp(port: int | None) -> str:
    return _SDP.format(port="[media_port]" if port is None else port)


def _steps(steps: Sequence[tuple[str, object]]) -> str:
    out = []
    for kind, value in steps:
        if kind == "pause":
            out.append(f'  <pause milliseconds="{value}"/>\n')
        elif kind == "key":
            name = {"#": "pound", "*": "star"}.get(str(value), str(value))
            out.append(
                f'  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_{name}.pcap"/>'
                "</action></nop>\n"
            )
        else:
            raise ValueError(kind)
    return "".join(out)


def caller(
    workdir: Path,
    *,
    steps: Sequence[tuple[str, object]] = (),
    end: str = "bye",
    media_port: int | None = None,
    number: str = CALLER_NUMBER,
    name: str = "caller",
) -> Path:
    """A caller: INVITE (the dialled number is SIPp's -s), then `steps` (pauses, keys), then
    `end`: "bye" (the caller hangs up) or "await_bye" (Hotline does)."""
    body = _HEAD.format(name=name)
    body += _INVITE.format(caller=number, sdp=_sdp(media_port))
    body += _steps(steps)
    body += _BYE.format(caller=number) if end == "bye" else _AWAIT_BYE
    body += "</scenario>\n"
    path = workdir / f"{name}.xml"
    path.write_text(body)
    return path


def refused_caller(workdir: Path, *, status: int, name: str = "refused") -> Path:
    """A caller whose INVITE is refused with `status` (it ACKs the final response)."""
    body = _HEAD.format(name=name)
    invite = _INVITE.format(caller=CALLER_NUMBER, sdp=_sdp(None))
    body += invite[: invite.index('  <recv response="180"')]
    body += f"""  <recv response="{status}"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:{CALLER_NUMBER}@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
</scenario>
"""
    path = workdir / f"{name}.xml"
    path.write_text(body)
    return path


def answering_phone(
    workdir: Path,
    *,
    ring_ms: int = 300,
    media_port: int | None = None,
    end: str = "await_bye",
    hold_ms: int = 2000,
    name: str = "phone",
) -> Path:
    """A phone (an agent's, or a callee's) that rings `ring_ms`, answers, and then waits for
    Hotline's BYE ("await_bye") or hangs up itself after `hold_ms` ("bye")."""
    body = _HEAD.format(name=name)
    body += _ANSWER.format(ring_ms=ring_ms, sdp=_sdp(media_port))
    if end == "bye":
        body += f'  <pause milliseconds="{hold_ms}"/>\n' + _CALLEE_BYE
    else:
        body += _AWAIT_BYE
    body += '  <Reference variables="remote_from,remote_contact"/>\n</scenario>\n'
    path = workdir / f"{name}.xml"
    path.write_text(body)
    return path
