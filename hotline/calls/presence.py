"""An agent's phone registration is their presence: registered, they are logged in to the router
(ready, unless `agent_ready_on_register` is off); the last registration gone (unregistered or
expired), they are logged out. Until the agent desktop arrives (next issue) this is how agents
sign in and out, and it stays true afterwards: a phone that cannot be rung must not be offered
calls.

The registrar reports changes synchronously and often (every refresh); changes are queued and one
task applies them in order, each time comparing what the registrar holds now with what the router
believes, so a burst of refreshes costs nothing and a flapping phone ends in the right state.

An agent who signs in on the agent desktop is logged in and out there instead: once the desktop
has taken an agent over (`defer_to`), a registration change is the desktop's to act on (an agent
whose chosen phone lost its registration is no longer offered calls)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from hotline.calls.directory import AgentDirectory
from hotline.core.errors import HotlineError
from hotline.routing.service import RoutingService
from hotline.routing.types import AgentState
from hotline.telephony.sip.registrar import Binding, Registrar

log = logging.getLogger(__name__)


class DeskPresence(Protocol):
    """The agent desktop's side (`hotline.agents`)."""

    async def registration_changed(self, agent_id: str, username: str, *, registered: bool) -> bool:
        """Act on the agent's phone (un)registering; False: the desktop leaves it to presence."""
        ...


class AgentPresence:
    def __init__(
        self,
        *,
        registrar: Registrar,
        routing: RoutingService,
        directory: AgentDirectory,
        ready_on_register: bool = True,
    ) -> None:
        self._registrar = registrar
        self._routing = routing
        self._directory = directory
        self._ready = ready_on_register
        self._changes: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._desk: DeskPresence | None = None

    def defer_to(self, desk: DeskPresence | None) -> None:
        """Let the agent desktop decide for the agents it has taken over (None: no desktop)."""
        self._desk = desk

    def start(self) -> None:
        self._registrar.on_change = self._changed
        self._task = asyncio.create_task(self._run(), name="agent-presence")

    async def close(self) -> None:
        self._registrar.on_change = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _changed(self, user: str, bindings: list[Binding]) -> None:
        self._changes.put_nowait(user)

    async def settled(self) -> None:
        """Wait until every change reported so far is applied (tests, tools)."""
        await self._changes.join()

    async def _run(self) -> None:
        while True:
            user = await self._changes.get()
            try:
                await self.apply(user)
            except HotlineError as exc:
                log.warning("presence of %s not applied: %s", user, exc.message)
            except Exception:
                log.exception("presence of %s not applied", user)
            finally:
                self._changes.task_done()

    async def apply(self, user: str) -> None:
        """Bring the router in line with the registrar for `user`."""
        agent_id = await self._directory.agent_id(user)
        if agent_id is None:
            return  # a SIP account that is not an agent's (nothing to route to it)
        registered = bool(self._registrar.lookup(user))
        desk = self._desk
        if desk is not None and await desk.registration_changed(
            agent_id, user, registered=registered
        ):
            return
        try:
            state = self._routing.engine.agent(agent_id).state
        except HotlineError:
            state = AgentState.OFFLINE  # never logged in
        if registered and state is AgentState.OFFLINE:
            skills = await self._directory.skills(agent_id)
            await self._routing.login(agent_id, skills, ready=self._ready)
            log.info("agent %s logged in: their phone registered", user)
        elif not registered and state is not AgentState.OFFLINE:
            await self._routing.logout(agent_id)
            log.info("agent %s logged out: no phone registered", user)
