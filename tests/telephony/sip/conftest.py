"""Fixtures for the SIP stack: an endpoint on 127.0.0.1 (any free port) with fast timers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from hotline.telephony.sip.endpoint import Endpoint, EndpointConfig
from hotline.telephony.sip.transaction import Timers

# T1 = 50 ms: retransmissions and timeouts ten times faster than in production.
FAST = Timers.scaled(0.1)


def config(**overrides: object) -> EndpointConfig:
    values: dict[str, object] = {
        "bind_host": "127.0.0.1",
        "port": 0,
        "advertised_host": "127.0.0.1",
        "timers": FAST,
    }
    values.update(overrides)
    return EndpointConfig(**values)  # type: ignore[arg-type]


@pytest_asyncio.fixture(loop_scope="function")
async def endpoint() -> AsyncIterator[Endpoint]:
    async with Endpoint(config()) as ep:
        yield ep
