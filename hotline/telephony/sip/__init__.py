"""Hotline's own SIP stack (RFC 3261 and companions), written for asyncio because no Python SIP
library fits both asyncio and production use. Layers, bottom up: `message` (parse/serialize),
`transport` (UDP/TCP), `transaction` (§17), `dialog` and `endpoint` (the UA core), `auth`,
`registrar` and `security`; `sdp` carries offer/answer for the media workers."""
