"""OPTIONS pings from SIPp, a real peer, over UDP and TCP."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.telephony.sip.endpoint import Endpoint
from tests.telephony.sip.sipp import run_sipp


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_options_ping_is_answered_200_with_allow_and_accept(
    endpoint: Endpoint, tmp_path: Path, transport: str
) -> None:
    result = await run_sipp(
        tmp_path, scenario="options.xml", remote_port=endpoint.port, calls=5, rate=50,
        transport=transport, time_limit=10,
    )  # fmt: skip
    assert result.returncode == 0, result.explain()
    assert result.count("SuccessfulCall") == 5
    assert endpoint.stats["request_OPTIONS"] == 5
