"""The sign-in passwords `hotline init --template covid` prints work in the browser API."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from click.testing import CliRunner

from hotline.cli import cli
from hotline.db.engine import create_engine, create_sessions
from tests.api.harness import build_harness


async def test_the_demo_users_init_prints_can_sign_in(tmp_path: Path) -> None:
    args = ["--data-dir", str(tmp_path), "init", "--template", "covid"]
    printed = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert printed.exit_code == 0, printed.output
    section = printed.output.split("Demo sign-in passwords", 1)[1].split("\n\n", 1)[0]
    passwords = dict(re.findall(r"^  (\S+)\s+(\S+)$", section, re.MULTILINE))
    assert {"admin", "agent01", "supervisor"} <= set(passwords)

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    try:
        api = await build_harness(create_sessions(engine), configure=False)
        for username in ("admin", "agent01", "supervisor"):
            async with api.signed_in(username, passwords[username]) as client:
                me = (await client.get("/api/v1/auth/me")).json()
                assert me["user"]["username"] == username
                assert me["user"]["must_change_password"] is False
        async with api.client() as client:
            answer = await client.post(
                "/api/v1/auth/login", json={"username": "agent01", "password": passwords["admin"]}
            )
            assert answer.status_code == 401
    finally:
        await engine.dispose()
