"""Headless Chromium (Debian's, driven by Playwright) as every browser test starts it, in one place:
the flags that keep it quiet and on 127.0.0.1, the fake microphone and camera for WebRTC, and the
login page's sign-in. Why these flags: ../shared/TESTING.md."""

from __future__ import annotations

from collections.abc import Sequence

from playwright.async_api import Browser, Page, Playwright, expect

CHROMIUM = "/usr/bin/chromium"
# Quiet and local: without the resolver rule Chromium looks up Google's hosts through the
# machine's DNS server, which is not on loopback.
ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)
# WebRTC: a fake microphone and camera, no prompt, and no candidates of Chromium's own, so that it
# reaches the server's 127.0.0.1 candidate from 127.0.0.1 and nothing else.
FAKE_MEDIA_ARGS = (
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--webrtc-ip-handling-policy=default_public_interface_only",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
)


async def launch(
    playwright: Playwright, *, fake_media: bool = False, extra_args: Sequence[str] = ()
) -> Browser:
    """A new headless Chromium; with `fake_media`, one that can take part in WebRTC calls."""
    args = [*ARGS, *(FAKE_MEDIA_ARGS if fake_media else ()), *extra_args]
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=args)


async def sign_in(page: Page, base: str, username: str, password: str, *, home: str) -> None:
    """Sign in on the login page; the app takes them to their start page `home`."""
    await page.goto(f"{base}/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{base}{home}")
