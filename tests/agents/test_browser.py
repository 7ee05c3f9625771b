"""The browser softphone's dialer while the server has no media running: never reachable, a ring
fails at once with 480 (the call layer then declines the offer), an accept finds nothing, and each
agent's chosen phone is kept (a default until they choose)."""

from __future__ import annotations

import pytest

from hotline.calls.browser import BrowserDialer, ChosenPhoneDialer, SoftphoneUnavailable
from hotline.calls.legs import LegFailed
from hotline.telephony.media.config import MediaConfig
from hotline.telephony.media.engine import LocalMediaEngine


async def test_a_browser_agent_without_an_open_softphone_cannot_be_rung() -> None:
    browser = BrowserDialer(LocalMediaEngine(MediaConfig()))  # not started: no worker
    with pytest.raises(SoftphoneUnavailable):
        await browser.open_softphone("agent01", sdp="v=0\r\n")
    assert not browser.reachable("agent01")
    with pytest.raises(LegFailed) as failed:
        await browser.ring("agent01", group="c1", ring_timeout=5)
    assert failed.value.status == 480
    with pytest.raises(SoftphoneUnavailable):
        await browser.accept("agent01")
    assert await browser.close_softphone("agent01") is False


async def test_the_chosen_phone_decides_which_dialer_an_agent_is_reached_by() -> None:
    media = LocalMediaEngine(MediaConfig())
    sip, browser = BrowserDialer(media), BrowserDialer(media)
    phones = ChosenPhoneDialer(sip=sip, browser=browser, default="webrtc")
    assert phones.phone("agent01") == "webrtc"
    phones.choose("agent01", "sip")
    assert (phones.phone("agent01"), phones.phone("agent02")) == ("sip", "webrtc")
    with pytest.raises(ValueError, match="unknown phone"):
        phones.choose("agent01", "fax")  # type: ignore[arg-type]
