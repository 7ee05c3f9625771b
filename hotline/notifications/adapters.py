"""How a message leaves Hotline: the `Notifier` protocol (an adapter at the edge) and its two
implementations, chosen by the setting `notifier`:

- `OutboxNotifier` (the demo's default): nothing leaves; the message stays in `outbox_messages`
  as `kept`, and `GET /api/v1/outbox` shows what would have been sent;
- `HttpSmsGateway`: an HTTP SMS gateway, configured by URL, method, an authorisation header and a
  body template with `{number}` and `{text}`; transient failures (network errors, 429, 5xx) are
  retried with exponential backoff, other answers are final.

Neither logs the number nor puts it into an error text: logs name the message id only."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import quote_plus

import httpx

from hotline.core.errors import InvalidConfiguration
from hotline.core.settings import Settings, secret_value

log = logging.getLogger(__name__)

_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
"""`${NAME}` inside a header value ("Bearer ${SMS_TOKEN}"): read from the environment."""


@dataclass(frozen=True, slots=True)
class Sms:
    """One message to send: `id` is the outbox row's (the gateway may use it to drop repeats)."""

    id: str
    to: str
    text: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of a message: `sent` (the gateway took it), `kept` (the outbox keeps it) or
    `failed` (refused for good, or still failing after every try); `error` says why, without the
    number."""

    status: Literal["sent", "kept", "failed"]
    attempts: int = 1
    error: str | None = None


class Notifier(Protocol):
    """Sends messages to callers."""

    name: str

    async def send(self, message: Sms) -> Delivery: ...

    async def close(self) -> None: ...


class OutboxNotifier:
    """Keeps messages for the outbox page; sends nothing."""

    name = "outbox"

    async def send(self, message: Sms) -> Delivery:
        return Delivery("kept", attempts=0)

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class GatewayConfig:
    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"to": "{number}", "text": "{text}"}'
    content_type: str = "application/json"
    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayConfig:
        if not settings.sms_gateway_url:
            raise InvalidConfiguration(
                "notifier http needs sms_gateway_url", field="sms_gateway_url"
            )
        headers: dict[str, str] = {}
        if settings.sms_gateway_auth_header:
            name, sep, value = settings.sms_gateway_auth_header.partition(":")
            if not sep or not name.strip():
                raise InvalidConfiguration(
                    "sms_gateway_auth_header must read 'Name: value'",
                    field="sms_gateway_auth_header",
                )
            headers[name.strip()] = _REFERENCE.sub(
                lambda found: secret_value(found.group(0)) or "", value.strip()
            )
        return cls(
            url=settings.sms_gateway_url,
            method=settings.sms_gateway_method,
            headers=headers,
            body=settings.sms_gateway_body,
            content_type=settings.sms_gateway_content_type,
            timeout=settings.sms_gateway_timeout_seconds,
            attempts=settings.sms_gateway_attempts,
            backoff=settings.sms_gateway_backoff_seconds,
        )


def render_body(template: str, *, number: str, text: str, content_type: str) -> str:
    """The body template with `{number}` and `{text}` filled in, each escaped for where it goes:
    inside a JSON string for JSON bodies, URL-encoded for forms and query strings, as it is
    otherwise."""

    def escape(value: str) -> str:
        if "json" in content_type:
            return json.dumps(value, ensure_ascii=False)[1:-1]
        if "x-www-form-urlencoded" in content_type:
            return quote_plus(value)
        return value

    return template.replace("{number}", escape(number)).replace("{text}", escape(text))


class HttpSmsGateway:
    """An SMS gateway over HTTP (see the module docstring)."""

    name = "http"

    def __init__(self, config: GatewayConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client or httpx.AsyncClient(timeout=config.timeout, follow_redirects=False)

    async def send(self, message: Sms) -> Delivery:
        config = self.config
        error = "not tried"
        for attempt in range(1, config.attempts + 1):
            if attempt > 1:
                await asyncio.sleep(config.backoff * 2 ** (attempt - 2))
            try:
                answer = await self._request(message)
            except httpx.HTTPError as exc:
                # The exception's text may quote the URL, and a GET's URL holds the number.
                error = f"{type(exc).__name__}"
                log.warning("SMS %s: try %d failed: %s", message.id, attempt, error)
                continue
            if answer.is_success:
                log.info("SMS %s sent (HTTP %d)", message.id, answer.status_code)
                return Delivery("sent", attempts=attempt)
            error = f"HTTP {answer.status_code}"
            if answer.status_code != 429 and answer.status_code < 500:
                log.warning("SMS %s refused by the gateway: %s", message.id, error)
                return Delivery("failed", attempts=attempt, error=error)
            log.warning("SMS %s: try %d failed: %s", message.id, attempt, error)
        return Delivery("failed", attempts=config.attempts, error=error)

    async def _request(self, message: Sms) -> httpx.Response:
        config = self.config
        if config.method == "GET":
            query = render_body(
                config.body,
                number=message.to,
                text=message.text,
                content_type="application/x-www-form-urlencoded",
            )
            separator = "&" if "?" in config.url else "?"
            return await self._client.get(f"{config.url}{separator}{query}", headers=config.headers)
        body = render_body(
            config.body, number=message.to, text=message.text, content_type=config.content_type
        )
        headers = {**config.headers, "Content-Type": config.content_type}
        return await self._client.request(
            config.method, config.url, content=body.encode(), headers=headers
        )

    async def close(self) -> None:
        await self._client.aclose()


def build_notifier(settings: Settings) -> Notifier:
    """The adapter the settings choose (the composition root calls this)."""
    if settings.notifier == "http":
        return HttpSmsGateway(GatewayConfig.from_settings(settings))
    return OutboxNotifier()
