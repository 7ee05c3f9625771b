"""Errors of the SIP stack, in the project's error catalogue (`hotline.core.errors`).

`SipParseError` is the only exception `message.parse` lets escape: it carries the SIP status to
answer with (400, 413, 416, 505...) and, when the start line and headers could be read, the
partial message so that a response can still be routed back (RFC 3261 §8.2, §18.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hotline.core.errors import HotlineError

if TYPE_CHECKING:
    from hotline.telephony.sip.message import SipMessage


class SipError(HotlineError):
    """Base of the SIP stack's errors."""

    code = "sip_error"
    http_status = 502


class SipParseError(SipError):
    """A message that cannot be accepted; `status` is the SIP response it deserves."""

    code = "sip_parse_error"
    http_status = 400

    def __init__(
        self, status: int, reason: str, *, message: SipMessage | None = None, **details: Any
    ) -> None:
        super().__init__(reason, status=status, **details)
        self.status = status
        self.reason = reason
        self.partial = message


class SdpError(SipError):
    """An SDP body that cannot be parsed or negotiated; `status` is 400 or 488."""

    code = "sdp_error"
    http_status = 400

    def __init__(self, reason: str, *, status: int = 400, **details: Any) -> None:
        super().__init__(reason, status=status, **details)
        self.status = status
        self.reason = reason


class CallFailed(SipError):
    """An outgoing INVITE (or re-INVITE) ended without a 2xx; `status` is the final SIP status
    (408 for a timeout, 487 when we cancelled it, 503 for a transport failure)."""

    code = "sip_call_failed"
    http_status = 502

    def __init__(self, status: int, reason: str, **details: Any) -> None:
        super().__init__(f"{status} {reason}", status=status, **details)
        self.status = status
        self.reason = reason


class TransportError(SipError):
    """A message could not be sent (no route, connection refused, socket closed)."""

    code = "sip_transport_error"
    http_status = 502
