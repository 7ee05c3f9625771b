"""Hotline's own SIP stack (RFC 3261 and companions), written for asyncio because no Python SIP
library fits both asyncio and production use. Layers, bottom up: `message` (parse/serialize),
`transport` (UDP/TCP, RFC 3581), `transaction` (§17), `dialog` and `endpoint` (the UA core),
`auth` (digest), `registrar`, `security` (bans, admission) and `trunk`; `sdp` carries offer/answer
for the media workers. See docs/sip.md.

The names the call path uses are re-exported here; importing opens nothing."""

from hotline.telephony.sip.auth import (
    CombinedCredentialStore,
    CredentialStore,
    DigestAuthenticator,
    DigestCredentials,
    InMemoryCredentialStore,
)
from hotline.telephony.sip.dialog import Dialog, DialogState, DtmfEvent, Role
from hotline.telephony.sip.endpoint import Endpoint, EndpointConfig, IncomingCall
from hotline.telephony.sip.errors import CallFailed, SdpError, SipError, SipParseError
from hotline.telephony.sip.registrar import Binding, Registrar, RegistrarConfig
from hotline.telephony.sip.sdp import AudioSession, Direction, SessionDescription
from hotline.telephony.sip.security import CallAdmission, GuardConfig, SourceGuard
from hotline.telephony.sip.transaction import Timers
from hotline.telephony.sip.transport import Destination, Source
from hotline.telephony.sip.trunk import OutboundRegistration, Trunk, TrunkConfig

__all__ = [
    "AudioSession",
    "Binding",
    "CallAdmission",
    "CallFailed",
    "CombinedCredentialStore",
    "CredentialStore",
    "Destination",
    "Dialog",
    "DialogState",
    "DigestAuthenticator",
    "DigestCredentials",
    "Direction",
    "DtmfEvent",
    "Endpoint",
    "EndpointConfig",
    "GuardConfig",
    "InMemoryCredentialStore",
    "IncomingCall",
    "OutboundRegistration",
    "Registrar",
    "RegistrarConfig",
    "Role",
    "SdpError",
    "SessionDescription",
    "SipError",
    "SipParseError",
    "Source",
    "SourceGuard",
    "Timers",
    "Trunk",
    "TrunkConfig",
]
