"""Signing in, as docs/web-api.md says: the session cookie and its flags, one answer for every bad
sign-in, CSRF on changes, rate limits, roles, forced password change, idle expiry, sign-out."""

from __future__ import annotations

import hashlib
from http.cookies import SimpleCookie

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.app import HttpServer
from hotline.auth.models import WebSession
from hotline.core.settings import Settings
from hotline.users.models import User
from hotline.users.passwords import ScryptCost, hash_password, verify_password
from tests.api.harness import PASSWORD, ApiHarness, build_harness

LOGIN = "/api/v1/auth/login"


def _cookies(answer: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header of `answer`, by cookie name."""
    return {header.split("=", 1)[0]: header for header in answer.headers.get_list("set-cookie")}


def _attributes(header: str) -> tuple[str, dict[str, str | bool]]:
    cookie = SimpleCookie()
    cookie.load(header)
    (morsel,) = cookie.values()
    return morsel.value, {key: value for key, value in morsel.items() if value}


async def _sessions_of(api: ApiHarness, username: str) -> list[WebSession]:
    async with api.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(WebSession).join(User).where(User.username == username)
                )
            ).all()
        )


async def test_signing_in_answers_me_and_sets_the_session_and_csrf_cookies(
    api: ApiHarness,
) -> None:
    async with api.client() as client:
        answer = await client.post(LOGIN, json={"username": "agent01", "password": PASSWORD})
        assert answer.status_code == 200
        me = answer.json()
        assert me["user"] == {
            "id": me["user"]["id"],
            "username": "agent01",
            "name": "Anna Ivanova",
            "roles": ["agent"],
            "department": None,
            "must_change_password": False,
            "language": "ru",
        }
        cookies = _cookies(answer)
        token, session_flags = _attributes(cookies["hotline_session"])
        assert session_flags == {"httponly": True, "samesite": "lax", "path": "/"}
        csrf, csrf_flags = _attributes(cookies["hotline_csrf"])
        assert csrf_flags == {"samesite": "lax", "path": "/"}  # readable by the page's script
        assert csrf == me["csrf_token"]
        assert len(token) >= 43  # 256 random bits, URL-safe base64

        (row,) = await _sessions_of(api, "agent01")
        assert row.id == hashlib.sha256(token.encode()).hexdigest()  # the token is not stored
        assert row.csrf_token == csrf
        assert row.ip == "127.0.0.1"

        again = await client.get("/api/v1/auth/me")
        assert again.status_code == 200
        assert again.json() == me


async def test_the_session_cookies_are_secure_unless_the_setting_turns_it_off(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = await build_harness(sessions, http_cookie_secure=True)
    async with api.client() as client:
        answer = await client.post(LOGIN, json={"username": "agent01", "password": PASSWORD})
    assert answer.status_code == 200
    for header in _cookies(answer).values():
        assert _attributes(header)[1]["secure"] is True


async def test_an_unknown_user_a_wrong_password_and_an_inactive_user_get_the_same_answer(
    api: ApiHarness,
) -> None:
    await api.add_user("gone", active=False)
    answers = []
    async with api.client() as client:
        for username, password in (
            ("agent01", "not the password"),
            ("nobody", PASSWORD),
            ("gone", PASSWORD),
        ):
            answer = await client.post(LOGIN, json={"username": username, "password": password})
            assert answer.status_code == 401
            assert "set-cookie" not in answer.headers
            answers.append(answer.json())
    assert answers[0] == {
        "code": "bad_credentials",
        "message": "wrong username or password",
        "details": {},
    }
    assert answers[1] == answers[0]
    assert answers[2] == answers[0]


async def test_sign_in_from_a_form_post_is_refused(api: ApiHarness) -> None:
    async with api.client() as client:
        answer = await client.post(LOGIN, data={"username": "agent01", "password": PASSWORD})
    assert answer.status_code == 403
    assert answer.json()["code"] == "csrf_failed"
    assert "set-cookie" not in answer.headers


async def test_malformed_json_is_invalid_input_with_the_problem_located(api: ApiHarness) -> None:
    async with api.client() as client:
        broken = await client.post(
            LOGIN, content=b'{"username": "agent01", ', headers={"content-type": "application/json"}
        )
        missing = await client.post(LOGIN, json={"username": "agent01"})
        wrong = await client.post(LOGIN, json={"username": "", "password": PASSWORD, "x": 1})
    assert broken.status_code == 422
    body = broken.json()
    assert body["code"] == "invalid_input"
    assert body["details"]["problems"][0]["loc"][0] == "body"
    assert missing.status_code == 422
    assert missing.json()["details"]["problems"] == [
        {"loc": ["body", "password"], "message": "Field required"}
    ]
    assert {tuple(p["loc"]) for p in wrong.json()["details"]["problems"]} == {
        ("body", "username"),
        ("body", "x"),
    }


async def test_a_change_without_the_sessions_csrf_token_is_refused(api: ApiHarness) -> None:
    async with api.signed_in("agent01") as client:
        token = client.headers.pop("X-CSRF-Token")
        missing = await client.post("/api/v1/auth/logout")
        wrong = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token[:-1]})
        for answer in (missing, wrong):
            assert answer.status_code == 403
            assert answer.json()["code"] == "csrf_failed"
        assert (await client.get("/api/v1/auth/me")).status_code == 200  # reads need none
        assert len(await _sessions_of(api, "agent01")) == 1  # still signed in
        right = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
        assert right.status_code == 204


async def test_another_sessions_csrf_token_does_not_do(api: ApiHarness) -> None:
    async with api.signed_in("agent01") as first, api.signed_in("agent01") as second:
        answer = await first.post(
            "/api/v1/auth/logout", headers={"X-CSRF-Token": second.headers["X-CSRF-Token"]}
        )
        assert answer.status_code == 403


async def test_signing_out_ends_the_session_and_clears_the_cookies(api: ApiHarness) -> None:
    async with api.signed_in("agent01") as client:
        answer = await client.post("/api/v1/auth/logout")
        assert answer.status_code == 204
        cookies = _cookies(answer)
        assert set(cookies) == {"hotline_session", "hotline_csrf"}
        for header in cookies.values():
            value, flags = _attributes(header)
            assert (value, flags["max-age"], flags["path"]) == ("", "0", "/")
        assert await _sessions_of(api, "agent01") == []
        after = await client.get("/api/v1/auth/me")
        assert after.status_code == 401
        assert after.json()["code"] == "not_signed_in"


async def test_a_stolen_cookie_copied_from_a_signed_out_session_signs_nobody_in(
    api: ApiHarness,
) -> None:
    async with api.signed_in("agent01") as client:
        token = client.cookies["hotline_session"]
        await client.post("/api/v1/auth/logout")
    async with api.client() as thief:
        thief.cookies.set("hotline_session", token)
        assert (await thief.get("/api/v1/auth/me")).status_code == 401


async def test_after_five_failures_for_a_username_even_the_right_password_waits(
    api: ApiHarness,
) -> None:
    async with api.client() as client:
        for _ in range(5):
            answer = await client.post(LOGIN, json={"username": "agent01", "password": "guess"})
            assert answer.status_code == 401
        api.clock.advance(60)
        blocked = await client.post(LOGIN, json={"username": "agent01", "password": PASSWORD})
        assert blocked.status_code == 429
        assert blocked.json()["code"] == "too_many_attempts"
        assert blocked.headers["Retry-After"] == "540"  # the first failure leaves the window then
        assert blocked.json()["details"] == {"retry_after": 540}
        assert "set-cookie" not in blocked.headers

    async with api.client(address="192.0.2.9") as elsewhere:  # the username is blocked anywhere
        other = await elsewhere.post(LOGIN, json={"username": "agent01", "password": PASSWORD})
        assert other.status_code == 429
        assert (
            await elsewhere.post(LOGIN, json={"username": "boss", "password": PASSWORD})
        ).status_code == 200

    api.clock.advance(540)
    async with api.client() as client:
        answer = await client.post(LOGIN, json={"username": "agent01", "password": PASSWORD})
        assert answer.status_code == 200


async def test_after_twenty_failures_from_one_address_it_waits_for_any_username(
    api: ApiHarness,
) -> None:
    async with api.client(address="198.51.100.7") as guesser:
        for number in range(20):
            answer = await guesser.post(
                LOGIN, json={"username": f"user{number}", "password": "guess"}
            )
            assert answer.status_code == 401
        blocked = await guesser.post(LOGIN, json={"username": "boss", "password": PASSWORD})
        assert blocked.status_code == 429
        assert blocked.headers["Retry-After"] == "600"
    async with api.client(address="198.51.100.8") as neighbour:
        answer = await neighbour.post(LOGIN, json={"username": "boss", "password": PASSWORD})
        assert answer.status_code == 200


async def test_a_right_password_clears_the_usernames_failures(api: ApiHarness) -> None:
    async with api.client() as client:
        for _ in range(4):
            await client.post(LOGIN, json={"username": "agent01", "password": "guess"})
        assert (
            await client.post(LOGIN, json={"username": "agent01", "password": PASSWORD})
        ).status_code == 200
        for _ in range(4):
            answer = await client.post(LOGIN, json={"username": "agent01", "password": "guess"})
            assert answer.status_code == 401


async def test_a_session_unused_longer_than_the_idle_timeout_is_over(api: ApiHarness) -> None:
    idle = api.settings.web_session_idle_minutes * 60
    async with api.signed_in("agent01") as client:
        api.clock.advance(idle - 60)
        assert (await client.get("/api/v1/auth/me")).status_code == 200  # and is touched
        api.clock.advance(idle - 60)
        assert (await client.get("/api/v1/auth/me")).status_code == 200
        api.clock.advance(idle + 1)
        answer = await client.get("/api/v1/auth/me")
        assert answer.status_code == 401
        assert answer.json()["code"] == "not_signed_in"


async def test_last_seen_is_written_at_most_once_a_minute(api: ApiHarness) -> None:
    async with api.signed_in("agent01") as client:
        (row,) = await _sessions_of(api, "agent01")
        signed_in_at = row.last_seen_at
        api.clock.advance(59)
        await client.get("/api/v1/auth/me")
        (row,) = await _sessions_of(api, "agent01")
        assert row.last_seen_at == signed_in_at
        api.clock.advance(1)
        await client.get("/api/v1/auth/me")
        (row,) = await _sessions_of(api, "agent01")
        assert row.last_seen_at.timestamp() == pytest.approx(signed_in_at.timestamp() + 60)


async def test_a_deactivated_users_sessions_stop_working(api: ApiHarness) -> None:
    async with api.signed_in("agent01") as client:
        async with api.sessions() as session, session.begin():
            user = (await session.scalars(select(User).where(User.username == "agent01"))).one()
            user.active = False
        assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_a_user_without_the_role_is_forbidden(api: ApiHarness) -> None:
    async with api.signed_in("agent01") as agent:
        answer = await agent.get("/api/v1/audit")
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"
    assert answer.json()["details"] == {"required": ["admin"]}


async def test_while_a_password_change_is_due_only_auth_routes_answer(api: ApiHarness) -> None:
    await api.add_user("newbie", roles=["agent"], must_change_password=True)
    async with api.signed_in("newbie") as client, api.signed_in("newbie") as other_tab:
        me = (await client.get("/api/v1/auth/me")).json()
        assert me["user"]["must_change_password"] is True
        queues = await client.get("/api/v1/queues")
        assert queues.status_code == 403
        assert queues.json()["code"] == "password_change_required"

        new_password = "a brand new secret"
        changed = await client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": new_password},
        )
        assert changed.status_code == 204
        assert (await client.get("/api/v1/queues")).status_code == 200
        assert (await client.get("/api/v1/auth/me")).json()["user"]["must_change_password"] is False
        assert (await other_tab.get("/api/v1/auth/me")).status_code == 401  # other sessions end

    async with api.sessions() as session:
        user = (await session.scalars(select(User).where(User.username == "newbie"))).one()
        assert verify_password(new_password, user.password_hash or "")
        assert not verify_password(PASSWORD, user.password_hash or "")


async def test_a_password_change_checks_the_current_password_and_the_new_ones_length(
    api: ApiHarness,
) -> None:
    async with api.signed_in("agent01") as client:
        wrong = await client.post(
            "/api/v1/auth/password",
            json={"current_password": "not it", "new_password": "long enough"},
        )
        assert wrong.status_code == 422
        assert wrong.json()["details"]["problems"] == [
            {"loc": ["body", "current_password"], "message": "not the current password"}
        ]
        short = await client.post(
            "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "short"}
        )
        assert short.status_code == 422
        assert [p["loc"] for p in short.json()["details"]["problems"]] == [["body", "new_password"]]
        same = await client.post(
            "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": PASSWORD}
        )
        assert same.status_code == 422
        assert (
            same.json()["details"]["problems"][0]["message"] == "must differ from the current one"
        )


async def test_guessing_the_current_password_in_a_session_counts_toward_the_limit(
    api: ApiHarness,
) -> None:
    async with api.signed_in("agent01") as client:
        for _ in range(5):
            await client.post(
                "/api/v1/auth/password",
                json={"current_password": "guess", "new_password": "long enough"},
            )
        answer = await client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "long enough"},
        )
        assert answer.status_code == 429
        assert int(answer.headers["Retry-After"]) > 0


async def test_signing_in_replaces_a_scrypt_hash_with_argon2(api: ApiHarness) -> None:
    await api.add_user("veteran", password_hash_=hash_password("old secret", cost=ScryptCost()))
    async with api.signed_in("veteran", "old secret"):
        pass
    async with api.sessions() as session:
        user = (await session.scalars(select(User).where(User.username == "veteran"))).one()
    assert (user.password_hash or "").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password("old secret", user.password_hash or "")
    async with api.signed_in("veteran", "old secret"):
        pass


async def test_the_language_chosen_is_kept_on_the_server_and_a_bad_one_is_refused_by_field(
    api: ApiHarness,
) -> None:
    async with api.signed_in("agent01") as client:
        changed = await client.patch("/api/v1/auth/me", json={"language": "en"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["user"]["language"] == "en"
        bad = await client.patch("/api/v1/auth/me", json={"language": "de"})
        assert bad.status_code == 422
        assert bad.json()["code"] == "invalid_input"
        assert [p["loc"] for p in bad.json()["details"]["problems"]] == [["body", "language"]]
        token = client.headers.pop("X-CSRF-Token")
        assert (await client.patch("/api/v1/auth/me", json={"language": "ru"})).status_code == 403
        client.headers["X-CSRF-Token"] = token
    async with api.signed_in("agent01") as again:  # another device opens in the choice
        assert (await again.get("/api/v1/auth/me")).json()["user"]["language"] == "en"


@pytest.mark.parametrize("trusted", ["127.0.0.1", ""])
async def test_behind_a_trusted_proxy_the_address_limit_counts_the_forwarded_client(
    sessions: async_sessionmaker[AsyncSession], trusted: str
) -> None:
    api = await build_harness(
        sessions, login_max_failures_per_address=2, http_trusted_proxies=trusted
    )
    server = HttpServer(api.api, host="127.0.0.1", port=0, trusted_proxies=trusted)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as proxy:

            async def login(client: str, username: str, password: str) -> int:
                answer = await proxy.post(
                    LOGIN,
                    json={"username": username, "password": password},
                    headers={"X-Forwarded-For": client},
                )
                return answer.status_code

            assert await login("203.0.113.7", "agent01", "wrong") == 401
            assert await login("203.0.113.7", "boss", "wrong") == 401
            assert await login("203.0.113.7", "boss", PASSWORD) == 429  # that client waits
            # Another client behind the same proxy: its own address, unless the proxy is not
            # trusted, when every client looks like the proxy itself.
            assert await login("198.51.100.9", "boss", PASSWORD) == (200 if trusted else 429)
    finally:
        await server.stop()


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert Settings(http_trusted_proxies=" 10.0.0.0/8, 127.0.0.1 ").http_trusted_proxies == (
        "10.0.0.0/8,127.0.0.1"
    )
    with pytest.raises(ValidationError):
        Settings(http_trusted_proxies="proxy.example")
