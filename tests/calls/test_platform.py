"""The platform as operators meet it: overload refused with 503 and Retry-After, the HTTP API
(its health check answering while the database's writer is busy), the SIP credentials
`hotline init` prints registering a phone (and its agent logging in and out with it), a crashed
media worker ending its calls cleanly, and `hotline serve` starting and stopping on a signal."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner, Result
from sqlalchemy import update

from hotline.app import build_app
from hotline.cli import cli
from hotline.core.settings import Settings
from hotline.routing.types import AgentState
from hotline.users.models import User
from hotline.users.passwords import hash_password
from tests.calls import scenarios
from tests.calls.conftest import eventually, running_hotline, start_test_platform
from tests.telephony.sip.sipp import finish_sipp, free_port, run_sipp, start_sipp


async def _init_covid(data_dir: Path) -> Result:
    """`hotline init --template covid`, run as from a shell (its own event loop, in a thread)."""
    args = ["--data-dir", str(data_dir), "init", "--template", "covid"]
    return await asyncio.to_thread(CliRunner().invoke, cli, args)


async def test_past_the_maximum_of_calls_an_invite_gets_503_with_retry_after(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(
        tmp_path, prompt_cache, max_calls=1, http=True, http_cookie_secure=False
    ) as h:
        first = await h.call(
            scenarios.caller(
                h.folder("first"), steps=[("pause", 1200), ("key", 1), ("pause", 3000)]
            )
        )

        async def queued() -> bool:
            rows = await h.contacts()
            return bool(rows) and rows[0].queue_id == "help"

        await eventually(queued, 5, "the first call waits in the queue")
        second = await run_sipp(
            h.folder("second"),
            scenario="uac_overload.xml",
            remote_port=h.sip_port,
            extra=["-s", "74950001122", "-trace_msg"],
            time_limit=10,
        )
        assert second.returncode == 0, second.explain()
        assert second.received("SIP/2.0 503", "INVITE") >= 1
        assert re.search(r"^Retry-After: 30\s*$", second.messages, re.MULTILINE)
        assert len(await h.contacts()) == 1  # refused before anything was written

        http = h.platform.http
        assert http is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}") as client:
            health = await client.get("/api/v1/health")
            assert health.status_code == 200
            body = health.json()
            assert (body["status"], body["database"]) == ("ok", "ok")
            assert body["sip"]["overload_rejections"] == 1
            assert body["calls_in_progress"] == 1
            assert body["media_workers"] == [{"worker": 0, "alive": True, "endpoints": 1}]
            assert (await client.get("/api/v1/queues")).status_code == 401
            async with h.sessions() as session, session.begin():
                agent = await session.get(User, await h.user_id("agent01"))
                agent.password_hash = hash_password("agent01 password")
            signed_in = await client.post(
                "/api/v1/auth/login",
                json={"username": "agent01", "password": "agent01 password"},
            )
            assert signed_in.status_code == 200, signed_in.text
            queues = (await client.get("/api/v1/queues")).json()["queues"]
            assert [q["queue_id"] for q in queues] == ["help", "ministry"]
            waiting = queues[0]
            assert (waiting["waiting"], waiting["offered_today"]) == (1, 1)
            assert waiting["longest_wait_seconds"] > 0
            assert waiting["agents"] == {}
            missing = await client.get("/api/v1/nothing")
            assert missing.status_code == 404
            assert missing.json() == {
                "code": "not_found",
                "message": "no such resource",
                "details": {"path": "/api/v1/nothing"},
            }
        assert (await h.finish(first, "first")).returncode == 0


async def test_the_health_check_answers_while_a_write_holds_the_database(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache, http=True) as h:
        http = h.platform.http
        assert http is not None
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}", timeout=10) as client,
            h.sessions() as session,
            session.begin(),
        ):
            # A write in progress (a long one, under load): on SQLite it holds the writer.
            await session.execute(update(User).values(name=User.name))
            health = await client.get("/api/v1/health")
        assert health.status_code == 200
        assert health.json()["database"] == "ok"


async def test_the_sip_passwords_init_prints_register_a_phone_and_log_its_agent_in_and_out(
    tmp_path: Path, prompt_cache: Path
) -> None:
    printed = await _init_covid(tmp_path)
    assert printed.exit_code == 0, printed.output
    accounts = dict(re.findall(r"^  (\S+)\s+(\S+)\s+sip:\S+$", printed.output, re.MULTILINE))
    assert set(accounts) >= {"agent01", "health01", "supervisor"}
    assert "admin" not in accounts  # answers no contacts: no phone account
    app = build_app(Settings(data_dir=tmp_path, prompts_dir=prompt_cache, http_port=free_port()))
    platform = await start_test_platform(app)
    try:
        async with app.sessions() as session:
            from sqlalchemy import select

            agent_id = (
                await session.scalars(select(User.id).where(User.username == "agent01"))
            ).one()
        port = free_port()
        for scenario in ("register_digest.xml", "unregister_digest.xml"):
            result = await run_sipp(
                tmp_path / scenario,
                scenario=scenario,
                remote_port=platform.endpoint.port,
                sipp_port=port,
                extra=["-s", "agent01", "-au", "agent01", "-ap", accounts["agent01"]],
                time_limit=10,
            )
            assert result.returncode == 0, result.explain()
            await platform.calls.presence.settled()
            state = platform.routing.engine.agent(agent_id).state
            if scenario == "register_digest.xml":
                assert state is AgentState.READY
            else:
                assert state is AgentState.OFFLINE
    finally:
        await platform.close()


async def test_a_crashed_media_worker_ends_its_calls_cleanly_with_the_reason(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        phone_port = free_port()
        await h.logged_in("agent01", phone_port)
        agent = await h.phone(scenarios.answering_phone(h.folder("agent")), phone_port)
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1)], end="await_bye"
            )
        )

        async def connected() -> bool:
            rows = await h.contacts()
            return bool(rows) and rows[0].state == "connected"

        await eventually(connected, 10, "the call is bridged")
        pid = h.platform.media.worker_pid(0)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

        caller_result = await h.finish(caller, "caller")
        agent_result = await h.finish(agent, "agent")
        assert caller_result.returncode == 0, caller_result.explain()  # Hotline hung up
        assert agent_result.returncode == 0, agent_result.explain()
        contact = await h.ended()
        assert contact.outcome == "cancelled"
        log = dict(await h.log(contact.id))
        assert log["call.ended"] == {"by": "hotline", "reason": "media worker lost"}
        await eventually(
            lambda: all(w.alive for w in h.platform.media.load()), 10, "the worker restarted"
        )
        assert h.platform.media.worker_pid(0) != pid


async def test_stopping_the_platform_ends_live_calls_with_their_outcome(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        phone_port = free_port()
        await h.logged_in("agent01", phone_port)
        agent = await h.phone(scenarios.answering_phone(h.folder("agent")), phone_port)
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1)], end="await_bye"
            )
        )

        async def connected() -> bool:
            rows = await h.contacts()
            return bool(rows) and rows[0].state == "connected"

        await eventually(connected, 10, "the call is bridged")
        await h.platform.close()

        assert (await h.finish(caller, "caller")).returncode == 0  # both got a BYE
        assert (await h.finish(agent, "agent")).returncode == 0
        (contact,) = await h.contacts()
        assert (contact.state, contact.outcome) == ("ended", "cancelled")
        log = dict(await h.log(contact.id))
        assert log["call.ended"] == {"by": "hotline", "reason": "the service is shutting down"}


async def test_hotline_serve_runs_until_sigterm_and_stops_cleanly(
    tmp_path: Path, prompt_cache: Path
) -> None:
    init = await _init_covid(tmp_path)
    assert init.exit_code == 0, init.output
    sip_port, http_port = free_port(), free_port()
    base = 29000 + 100 * (os.getpid() % 9)
    environment = {
        **os.environ,
        "HOTLINE_SIP_BIND_ADDRESS": "127.0.0.1",
        "HOTLINE_MEDIA_WORKERS": "1",
        "HOTLINE_MEDIA_PORT_MIN": str(base),
        "HOTLINE_MEDIA_PORT_MAX": str(base + 99),
        "HOTLINE_PROMPTS_DIR": str(prompt_cache),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline", "--data-dir", str(tmp_path), "serve",
        "--sip-port", str(sip_port), "--http-port", str(http_port),
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:

            async def healthy() -> bool:
                try:
                    return (await client.get("/api/v1/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(healthy, 20, "hotline serve answers on its HTTP port")
        options = await start_sipp(
            tmp_path / "options", scenario="options.xml", remote_port=sip_port, time_limit=5
        )
        assert (await finish_sipp(options, tmp_path / "options", time_limit=10)).returncode == 0
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode()
    assert process.returncode == 0, text
    assert "Hotline is running" in text
    assert text.rstrip().endswith("Stopped.")
