"""The HTTP SMS gateway adapter against a real HTTP server on 127.0.0.1 (uvicorn serving a small
gateway that answers as told): the configured method, URL, authorisation header and body template;
retries with backoff on 5xx, 429 and network errors; no retry on other refusals; the number never
in the log; and the outbox sender delivering through it (both databases)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
import pytest_asyncio
from sqlalchemy import select

from hotline.app import HttpServer
from hotline.core.settings import Settings
from hotline.notifications.adapters import (
    GatewayConfig,
    HttpSmsGateway,
    Sms,
    build_notifier,
    render_body,
)
from hotline.notifications.models import OutboxMessage
from hotline.notifications.service import NotificationSender
from tests.requests.field_api import CALLER, FieldApi

NUMBER = "+7 495 000-11-22"
TEXT = 'Заявка № ABC123 "готова"'


@dataclass
class Gateway:
    """An SMS gateway that answers each request with the next of `statuses` (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.received.append(
            {
                "method": scope["method"],
                "path": scope["path"],
                "query": scope["query_string"].decode(),
                "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
                "body": body.decode(),
            }
        )
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest_asyncio.fixture(loop_scope="function")
async def gateway() -> AsyncIterator[tuple[Gateway, str]]:
    app = Gateway()
    server = HttpServer(app, host="127.0.0.1", port=0)
    await server.start()
    try:
        yield app, f"http://127.0.0.1:{server.port}/sms/send"
    finally:
        await server.stop()


def _settings(url: str, **values: Any) -> Settings:
    return Settings(
        notifier="http",
        sms_gateway_url=url,
        sms_gateway_auth_header="Authorization: Bearer ${HOTLINE_TEST_SMS_TOKEN}",
        sms_gateway_backoff_seconds=0.01,
        **values,
    )


async def test_a_message_is_posted_as_configured_after_retrying_transient_failures(
    gateway: tuple[Gateway, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app, url = gateway
    app.statuses = [503, 429]
    monkeypatch.setenv("HOTLINE_TEST_SMS_TOKEN", "s3cret")
    notifier = build_notifier(_settings(url))
    caplog.set_level(logging.DEBUG)
    try:
        delivery = await notifier.send(Sms("m1", NUMBER, TEXT))
    finally:
        await notifier.close()
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert len(app.received) == 3
    last = app.received[-1]
    assert (last["method"], last["path"]) == ("POST", "/sms/send")
    assert last["headers"]["authorization"] == "Bearer s3cret"
    assert last["headers"]["content-type"] == "application/json"
    assert json.loads(last["body"]) == {"to": NUMBER, "text": TEXT}
    assert "000-11-22" not in caplog.text
    assert "s3cret" not in caplog.text


async def test_a_refusal_is_final_and_persistent_failures_give_up(
    gateway: tuple[Gateway, str],
) -> None:
    app, url = gateway
    config = GatewayConfig(url=url, attempts=3, backoff=0.01)
    notifier = HttpSmsGateway(config)
    try:
        app.statuses = [400]
        refused = await notifier.send(Sms("m1", NUMBER, TEXT))
        app.statuses = [500, 502, 503]
        exhausted = await notifier.send(Sms("m2", NUMBER, TEXT))
    finally:
        await notifier.close()
    assert (refused.status, refused.attempts, refused.error) == ("failed", 1, "HTTP 400")
    assert (exhausted.status, exhausted.attempts, exhausted.error) == ("failed", 3, "HTTP 503")
    assert len(app.received) == 4


async def test_an_unreachable_gateway_fails_without_quoting_the_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = GatewayConfig(
        url="http://127.0.0.1:9/sms", method="GET", body="to={number}", attempts=2, backoff=0.01
    )
    notifier = HttpSmsGateway(config)
    caplog.set_level(logging.DEBUG, logger="hotline")
    try:
        delivery = await notifier.send(Sms("m1", NUMBER, TEXT))
    finally:
        await notifier.close()
    assert (delivery.status, delivery.attempts, delivery.error) == ("failed", 2, "ConnectError")
    assert "000-11-22" not in caplog.text


async def test_get_and_form_bodies_are_escaped_for_where_they_go(
    gateway: tuple[Gateway, str],
) -> None:
    app, url = gateway
    notifier = HttpSmsGateway(
        GatewayConfig(url=url + "?key=1", method="GET", body="phone={number}&msg={text}")
    )
    try:
        await notifier.send(Sms("m1", NUMBER, TEXT))
    finally:
        await notifier.close()
    query = parse_qs(app.received[0]["query"])
    assert query == {"key": ["1"], "phone": [NUMBER], "msg": [TEXT]}
    form = render_body(
        "a={number}&b={text}",
        number=NUMBER,
        text="x&y",
        content_type="application/x-www-form-urlencoded",
    )
    assert parse_qs(form) == {"a": [NUMBER], "b": ["x&y"]}


def test_the_http_notifier_needs_a_url_and_a_well_formed_header() -> None:
    with pytest.raises(Exception, match="sms_gateway_url"):
        build_notifier(Settings(notifier="http"))
    with pytest.raises(Exception, match="Name: value"):
        build_notifier(
            Settings(notifier="http", sms_gateway_url="http://x", sms_gateway_auth_header="x")
        )


async def test_the_sender_delivers_the_outbox_through_the_gateway(
    field_api: FieldApi, gateway: tuple[Gateway, str]
) -> None:
    app, url = gateway
    async with field_api.signed_in("agent01") as agent:
        request = await field_api.create(agent)
    async with field_api.signed_in(str(request["worker"])) as worker:
        await worker.post(f"/api/v1/tasks/{request['id']}/accept")
    sender = NotificationSender(
        sessions=field_api.sessions,
        notifier=HttpSmsGateway(GatewayConfig(url=url, backoff=0.01)),
        clock=field_api.harness.clock,
    )
    app.statuses = [503]
    try:
        assert await sender.drain() == 1
    finally:
        await sender.close()
    async with field_api.sessions() as session:
        (row,) = (await session.scalars(select(OutboxMessage))).all()
    assert (row.status, row.adapter, row.attempts, row.error) == ("sent", "http", 2, None)
    assert json.loads(app.received[-1]["body"])["to"] == CALLER
