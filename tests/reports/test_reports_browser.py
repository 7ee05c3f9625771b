"""The reports page in headless Chromium (Debian's, driven by Playwright) against the API served by
uvicorn on 127.0.0.1 with the built app (`cd web && npm run build`) under its real CSP: a morning's
contacts made by the real router, forms submitted by the agent through the API, requests created
and one completed by a volunteer; the supervisor opens the reports page, picks the day, sees the
API's figures and the charts drawn, and downloads a CSV that is byte for byte the API's. A
screenshot goes to artifacts/reports-page.png (ignored by git)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from playwright.async_api import ConsoleMessage, async_playwright, expect
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.app import HttpServer
from hotline.core.events import InProcessBus
from hotline.users.models import User
from hotline.web import STATIC_DIR, mount_web_app
from tests.api.harness import PASSWORD
from tests.browser import launch, sign_in
from tests.reports.forms_world import SURVEY, fill_forms
from tests.reports.test_reports import CONFIG as TRAFFIC
from tests.reports.test_reports import Centre, _traffic, open_centre

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
DAY = "2025-03-04"


@pytest_asyncio.fixture(loop_scope="function")
async def centre(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Centre]:
    """The city with the survey form, the router running with agent01 ready."""
    async with open_centre(sessions, config=TRAFFIC + SURVEY) as world:
        yield world


async def _requests(centre: Centre) -> None:
    """Two medicine requests and a sick-leave one; a volunteer completes the first."""
    api = centre.api
    async with api.signed_in("agent01") as agent:
        done = await api.create(agent)
        await api.create(agent)
        await api.create(agent, category="sick_leave", form={})
    async with api.signed_in(str(done["worker"])) as worker:
        assert (await worker.post(f"/api/v1/tasks/{done['id']}/accept")).status_code == 200
        answer = await worker.post(f"/api/v1/tasks/{done['id']}/done", json={"note": "brought"})
        assert answer.status_code == 200, answer.text


async def _api(centre: Centre, path: str, **params: str) -> Any:
    async with centre.api.signed_in("boss") as boss:
        answer = await boss.get(f"/api/v1/reports/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json() if params.get("format") is None else answer.content


async def test_a_supervisor_reads_the_days_reports_with_charts_and_downloads_the_csv(
    centre: Centre, tmp_path: Path
) -> None:
    if not (STATIC_DIR / "index.html").is_file():
        raise AssertionError("the browser app is not built: cd web && npm run build")
    await _traffic(centre)
    await fill_forms(centre.api)
    await _requests(centre)
    harness = centre.api.harness
    async with harness.sessions() as session, session.begin():
        await session.execute(update(User).where(User.username == "boss").values(language="en"))
    period = {"from": DAY, "to": DAY}
    weekly = await _api(centre, "weekly", date=DAY)
    topics = await _api(centre, "contacts", by="topic", **period)
    requests = await _api(centre, "requests", by="category", **period)
    forms_csv = await _api(centre, "forms", format="csv", **period)

    # The page's live connection (every signed-in page has one): a feed of the router's state;
    # its updates are not what this test is about, so it follows a bus of its own.
    feed = await harness.live_feed(centre.routing, InProcessBus())
    mount_web_app(harness.api)
    server = HttpServer(harness.api, host="127.0.0.1", port=0)
    await server.start()
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)  # a CSP violation is reported here

    try:
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            try:
                context = await browser.new_context(
                    accept_downloads=True, viewport={"width": 1280, "height": 900}
                )
                page = await context.new_page()
                base = f"http://127.0.0.1:{server.port}"
                await sign_in(page, base, "boss", PASSWORD, home="/wallboard")
                page.on("console", console)  # signed in (the login page's first /me is a 401)
                await page.get_by_role("link", name="Reports").click()
                await expect(page).to_have_url(f"{base}/reports")
                await page.get_by_label("From", exact=True).fill(DAY)
                await page.get_by_label("To", exact=True).fill(DAY)
                await page.get_by_label("Interval", exact=True).select_option("1800")
                await page.get_by_role("button", name="Show").click()

                # The week's summary: the API's figures.
                summary = dict(weekly["tables"][0]["rows"])
                week = page.get_by_role("heading", name="Week 2025-03-03 – 2025-03-09")
                await expect(week).to_be_visible()  # Monday to Sunday
                calls = page.locator('[data-figure="calls"] dd')
                await expect(calls).to_have_text(str(summary["calls"]))
                await expect(page.locator('[data-figure="requests_done"] dd')).to_have_text(
                    str(summary["requests_done"])
                )
                await expect(page.locator('[data-figure="agent_forms_submitted"] dd')).to_have_text(
                    "3"
                )
                assert summary["calls"] > 0
                assert summary["requests_done"] == 1
                # Contacts by topic: the table's rows and a bar per topic.
                table = page.locator('table[data-table="contacts_by_topic"] tbody tr')
                expected = [[str(r[0]), str(r[1])] for r in topics["tables"][0]["rows"]]
                await expect(table).to_have_count(len(expected))
                for row, (topic, count) in zip(await table.all(), expected, strict=True):
                    await expect(row.locator("td").nth(0)).to_have_text(topic)
                    await expect(row.locator("td").nth(1)).to_have_text(count)
                chart = page.get_by_role("img", name="Contacts by topic")
                await expect(chart.locator(".bar rect")).to_have_count(len(expected))
                heights = [
                    float(await bar.get_attribute("height") or 0)
                    for bar in await chart.locator(".bar rect").all()
                ]
                assert all(h > 0 for h in heights), heights
                lines = page.get_by_role("img", name="Service level and abandon rate per interval")
                await expect(lines.locator("circle").first).to_be_visible()
                # Requests by category and form answers.
                medicine = next(r for r in requests["tables"][0]["rows"] if r[0] == "medicine")
                row = page.locator(
                    'table[data-table="requests_by_category"] tr', has_text="medicine"
                )
                await expect(row.locator("td").nth(1)).to_have_text(str(medicine[1]))
                help_ = page.locator('[data-form="survey:1:medical"] tr[data-field="help"]')
                await expect(help_).to_contain_text("Doctor at home")
                await expect(page.locator('[data-form="survey:1:covid"]')).to_contain_text(
                    "1 submitted"
                )

                async with page.expect_download() as started:
                    await page.get_by_role(
                        "link", name="Download Form answers by field as CSV"
                    ).click()
                download = await started.value
                saved = tmp_path / download.suggested_filename
                await download.save_as(saved)
                assert download.suggested_filename == f"forms-{DAY}.csv"
                assert saved.read_bytes() == forms_csv
                rows = list(csv.reader(io.StringIO(saved.read_text("utf-8-sig"))))
                assert ["survey", "1", "Survey", "medical", "2"] in rows

                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "reports-page.png"), full_page=True)
            finally:
                await browser.close()
    finally:
        await server.stop()
        await feed.close()
    assert problems == []
