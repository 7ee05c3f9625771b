"""The media engine: what the call layer asks of media, and the built-in implementation.

`MediaEngine` is the small protocol the call path uses: allocate an endpoint, tell it where the far
end is, play, collect digits, bridge, record, release; and events back (digits, prompt and
collection ends, RTP timeouts, lost workers). `LocalMediaEngine` runs it on media worker processes
of this machine; an adapter for an external media server (rtpengine) implements the same protocol.

The engine keeps signalling and media apart: it only exchanges small messages with the workers,
so the control process never handles a packet."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hotline.core.ids import new_id
from hotline.telephony.media.channel import Channel, Message, socket_pair
from hotline.telephony.media.config import MediaConfig
from hotline.telephony.media.errors import (
    EndpointNotFound,
    MediaError,
    MediaTimeout,
    MediaWorkerLost,
    error_from_code,
)
from hotline.telephony.media.g711 import Codec
from hotline.telephony.media.stats import LegQuality

log = logging.getLogger(__name__)

WORKER_LOST = "media worker lost"
TRUNK_EVENT_PT = 101  # telephone-event payload type between the two ends of a trunk


class LegKind(enum.StrEnum):
    """How a leg carries audio: plain RTP (phones, trunks), or WebRTC (a browser softphone: ICE
    and DTLS-SRTP, answered by aiortc in the worker; see `MediaEngine.allocate_webrtc`)."""

    RTP = "rtp"
    WEBRTC = "webrtc"


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    """Where the far end must send audio: the call layer puts it in its SDP. For a WebRTC leg
    the answer SDP says it all; `port` is its ICE port, RTCP shares it."""

    endpoint_id: str
    address: str
    port: int
    rtcp_port: int
    kind: LegKind = LegKind.RTP
    worker: int = 0
    codec: Codec | None = (
        None  # a WebRTC leg's law, agreed in its answer (an RTP leg's comes later)
    )


@dataclass(frozen=True, slots=True)
class Recording:
    path: str
    seconds: float


# ------------------------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True)
class DigitReceived:
    """A key pressed on the leg (RFC 4733), reported once per press, whatever else is going on."""

    endpoint_id: str
    digit: str


@dataclass(frozen=True, slots=True)
class PlayDone:
    """A play ended: `reason` is finished, stopped, barge_in (with the digit) or replaced."""

    endpoint_id: str
    play_id: str
    reason: str
    digit: str | None = None


@dataclass(frozen=True, slots=True)
class CollectDone:
    """A digit collection ended: `reason` is max_digits, terminator (with the key), timeout,
    stopped or replaced. `digits` never includes the terminator."""

    endpoint_id: str
    collect_id: str
    digits: str
    reason: str
    terminator: str | None = None


@dataclass(frozen=True, slots=True)
class RtpTimeout:
    """No RTP from the far end for `seconds`: the caller's network or phone is gone."""

    endpoint_id: str
    seconds: float


@dataclass(frozen=True, slots=True)
class RecordingFailed:
    """The recording could not be written (disk full, ...); the call itself goes on."""

    endpoint_id: str
    path: str
    error: str


@dataclass(frozen=True, slots=True)
class EndpointEnded:
    """The endpoint is gone without a release: the call layer should end the call. Reasons:
    "media worker lost" (the endpoint is forgotten), or for a WebRTC leg "webrtc connection
    failed", "webrtc connection closed" or "webrtc connect timeout" (the browser is gone; the
    endpoint stays until released, which returns its figures)."""

    endpoint_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class WorkerLost:
    """A media worker ended unexpectedly; each of its endpoints also gets an EndpointEnded."""

    worker: int
    exit_code: int | None
    endpoint_ids: tuple[str, ...] = field(default=())


MediaEvent = (
    DigitReceived
    | PlayDone
    | CollectDone
    | RtpTimeout
    | RecordingFailed
    | EndpointEnded
    | WorkerLost
)
MediaEventHandler = Callable[[MediaEvent], None]
Unsubscribe = Callable[[], None]


class MediaEngine(Protocol):
    """What the call layer needs from media. Every method raises a `MediaError` subclass."""

    async def allocate(
        self,
        *,
        group: str | None = None,
        kind: LegKind = LegKind.RTP,
        rtp_timeout: float | None = None,
    ) -> EndpointInfo:
        """A new endpoint with its local address and port. Endpoints of one `group` (use the
        contact id) share a worker, so they can be bridged."""
        ...

    async def allocate_webrtc(
        self,
        offer_sdp: str,
        *,
        group: str | None = None,
        rtp_timeout: float | None = None,
    ) -> tuple[EndpointInfo, str]:
        """A browser's leg from its SDP offer: the endpoint and the SDP answer to send back.
        G.711 only (PCMU preferred, PCMA accepted; telephone-event when offered); candidates are
        the media address only. The leg may outlive calls: bridge and unbridge it as often as
        needed (unbridged, it sends nothing). It ends (EndpointEnded) when the browser's
        connection fails or closes. Raises WebRtcOfferRejected for an offer it cannot answer."""
        ...

    async def set_remote(
        self,
        endpoint_id: str,
        *,
        address: str,
        port: int,
        codec: Codec,
        payload_type: int | None = None,
        telephone_event_pt: int | None = None,
        ptime: int = 20,
        rtcp_port: int | None = None,
        rtp_timeout: float | None = None,
    ) -> None:
        """The far end's address and the codec agreed in SDP; called again on a re-INVITE.
        `rtp_timeout` changes the leg's silence limit (0 while the call is on hold)."""
        ...

    async def play(
        self,
        endpoint_id: str,
        prompts: Sequence[str | os.PathLike[str]],
        *,
        loop: bool = False,
        barge_in: bool = False,
    ) -> str:
        """Start playing prompts in order (forever with `loop`); returns the play id that its
        PlayDone will carry. `barge_in` stops it on the first key pressed."""
        ...

    async def stop(self, endpoint_id: str) -> bool:
        """Stop the current play (PlayDone reason "stopped"); False if nothing played."""
        ...

    async def collect_digits(
        self,
        endpoint_id: str,
        *,
        max_digits: int = 1,
        terminators: str = "",
        first_digit_timeout: float = 5.0,
        inter_digit_timeout: float = 3.0,
    ) -> str:
        """Start collecting digits; returns the collect id of its CollectDone. While a prompt
        plays, the first-digit clock waits for it to end."""
        ...

    async def cancel_collect(self, endpoint_id: str) -> bool: ...

    async def send_digits(self, endpoint_id: str, digits: str, *, duration_ms: int = 100) -> None:
        """Send keys to the far end as RFC 4733 events (an external IVR, a conference PIN)."""
        ...

    async def press_digits(self, endpoint_id: str, digits: str, *, duration_ms: int = 100) -> None:
        """Keys pressed at the far end of the leg but reported out of band (a browser's keypad
        through the API, SIP INFO): reported, collected and barging in as if they had come as
        RFC 4733 on the leg, and sent on as events to the bridged leg."""
        ...

    async def bridge(self, endpoint_id: str, other_id: str) -> None:
        """Relay audio and key presses both ways between two endpoints. Endpoints of one group
        share a worker and are bridged inside it; others are bridged through a trunk between
        their workers, which costs more."""
        ...

    async def unbridge(self, endpoint_id: str) -> None: ...

    async def record_start(self, endpoint_id: str, path: str | os.PathLike[str]) -> None:
        """Record to a stereo WAV: what the endpoint receives on the left (the caller), what is
        sent to it on the right (the agent, or the prompts)."""
        ...

    async def record_stop(self, endpoint_id: str) -> Recording:
        """Finish the recording; the file is complete when this returns."""
        ...

    async def release(self, endpoint_id: str) -> LegQuality | None:
        """Free the endpoint (a recording is finished first); its quality figures, or None when it
        had already ended (its worker was lost)."""
        ...

    async def quality(self, endpoint_id: str) -> LegQuality:
        """The leg's figures so far, without releasing it: a browser leg lives across calls, so
        a call's own figures are the difference between snapshots at its start and its end."""
        ...

    def subscribe(self, handler: MediaEventHandler) -> Unsubscribe:
        """Call `handler` with every media event, in order; it must not block (queue the event)."""
        ...


# ------------------------------------------------------------------------- the local engine


class _WorkerHandle:
    """The control process's side of one worker process."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: asyncio.subprocess.Process | None = None
        self.channel: Channel | None = None
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.endpoints: set[str] = set()
        self.ready: asyncio.Future[dict[str, Any]] | None = None
        self.alive = False
        self.failures = 0  # consecutive deaths, for the restart backoff
        self.started_at = 0.0

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid


@dataclass(frozen=True, slots=True)
class _Trunk:
    """How a leg is bridged to a leg of another worker: `near` is the trunk end on its own
    worker, `far` the one on the other leg's worker."""

    near: str
    far: str
    other: str


@dataclass(frozen=True, slots=True)
class WorkerLoad:
    worker: int
    pid: int | None
    alive: bool
    endpoints: int


class LocalMediaEngine:
    """Media on worker processes of this machine (one per core by default).

    Endpoints go to the least loaded worker, or to their group's worker. A worker that dies is
    restarted, and each endpoint it carried is reported ended ("media worker lost") so the call
    layer can end those calls cleanly; a worker that stops answering heartbeats is killed first."""

    def __init__(self, config: MediaConfig) -> None:
        self.config = config
        self._workers = [_WorkerHandle(i) for i in range(config.worker_count)]
        self._where: dict[str, _WorkerHandle] = {}
        self._groups: dict[str, tuple[_WorkerHandle, set[str]]] = {}
        self._group_of: dict[str, str] = {}
        self._subscribers: list[MediaEventHandler] = []
        self._trunks: dict[str, _Trunk] = {}  # a leg bridged across workers -> its trunk
        self._internal: set[str] = set()  # trunk endpoints: never reported to subscribers
        self._requests = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._watchers: dict[int, asyncio.Task[None]] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._closing = False
        self._started = False

    async def __aenter__(self) -> LocalMediaEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------------- workers

    async def start(self) -> None:
        """Start every worker and wait until each is ready."""
        if self._started:
            return
        self._started = True
        await asyncio.gather(*(self._spawn(handle) for handle in self._workers))
        self._heartbeat = asyncio.get_running_loop().create_task(self._heartbeats())

    async def _spawn(self, handle: _WorkerHandle) -> None:
        loop = asyncio.get_running_loop()
        control, child = socket_pair()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hotline.telephony.media.worker",
                "--control-fd",
                str(child.fileno()),
                "--index",
                str(handle.index),
                "--config",
                json.dumps(self.config.as_dict()),
                "--log-level",
                logging.getLevelName(logging.getLogger().getEffectiveLevel()),
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            control.close()
            raise
        finally:
            child.close()
        handle.process = process
        handle.pending = {}
        handle.endpoints = set()
        handle.ready = loop.create_future()
        handle.channel = Channel(
            control,
            loop,
            lambda message: self._on_message(handle, message),
            lambda: self._on_channel_closed(handle),
        )
        self._watchers[handle.index] = loop.create_task(self._watch(handle, process))
        try:
            info = await asyncio.wait_for(asyncio.shield(handle.ready), 30)
        except TimeoutError:
            self._kill(process)
            raise MediaError(f"media worker {handle.index} did not start") from None
        except MediaError:
            self._kill(process)
            raise
        handle.alive = True
        handle.started_at = loop.time()
        log.info(
            "media worker %d started (pid %s, ports %s)",
            handle.index,
            info.get("pid"),
            info.get("ports"),
        )

    async def _watch(self, handle: _WorkerHandle, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        if handle.process is not process:
            return
        was_alive = handle.alive
        self._lost(handle, code)
        if not was_alive:
            # died while starting: whoever is starting it hears it from here
            if handle.ready is not None and not handle.ready.done():
                handle.ready.set_exception(
                    MediaWorkerLost(f"media worker {handle.index} died starting (exit {code})")
                )
            return
        if self._closing:
            return
        task = asyncio.get_running_loop().create_task(self._restart(handle))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _restart(self, handle: _WorkerHandle) -> None:
        """Start the worker again; one that keeps dying is restarted less and less often."""
        loop = asyncio.get_running_loop()
        if loop.time() - handle.started_at > self.config.restart_backoff_max:
            handle.failures = 0
        while not self._closing:
            handle.failures += 1
            if handle.failures > 1:
                delay = min(self.config.restart_backoff_max, 0.5 * 2 ** (handle.failures - 2))
                log.warning("media worker %d: restart in %.1f s", handle.index, delay)
                await asyncio.sleep(delay)
            try:
                await self._spawn(handle)
            except MediaError as exc:
                log.error("media worker %d failed to restart: %s", handle.index, exc)
                continue
            return

    def _lost(self, handle: _WorkerHandle, code: int | None) -> None:
        """Fail what waited on the worker and end every endpoint it carried."""
        handle.alive = False
        if handle.channel is not None:
            handle.channel.close()
        for future in handle.pending.values():
            if not future.done():
                future.set_exception(MediaWorkerLost(f"media worker {handle.index} was lost"))
        handle.pending = {}
        ended = sorted(e for e in handle.endpoints if e not in self._internal)
        for endpoint_id in handle.endpoints:
            self._forget(endpoint_id)
        handle.endpoints = set()
        if self._closing:
            return
        for endpoint_id in ended:
            if endpoint_id in self._trunks:
                # bridged to a leg of another worker: free the trunk's end that survives there
                task = asyncio.get_running_loop().create_task(self._drop_trunk(endpoint_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        log.error(
            "media worker %d lost (exit %s) with %d endpoint(s)", handle.index, code, len(ended)
        )
        for endpoint_id in ended:
            self._dispatch(EndpointEnded(endpoint_id, WORKER_LOST))
        self._dispatch(WorkerLost(handle.index, code, tuple(ended)))

    def _on_channel_closed(self, handle: _WorkerHandle) -> None:
        # The process watcher reports the loss; here only make sure it is not left running.
        if not self._closing and handle.process is not None and handle.process.returncode is None:
            self._kill(handle.process)

    @staticmethod
    def _kill(process: asyncio.subprocess.Process, signum: int = signal.SIGKILL) -> None:
        """Signal the worker (SIGKILL unless told) without reaping it.

        `process.kill()` goes through `Popen.send_signal`, which first polls the child and so
        reaps it if it has just died; the child watcher then finds no child and reports exit
        255 instead of the real status. A plain `os.kill` leaves reaping to the watcher (a dead,
        unreaped child keeps its pid, so the signal cannot reach another process)."""
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)

    async def _heartbeats(self) -> None:
        interval = self.config.heartbeat_interval
        while not self._closing:
            await asyncio.sleep(interval)
            for handle in self._workers:
                if not handle.alive or handle.process is None:
                    continue
                try:
                    await self._request(handle, "ping", {}, limit=2 * interval)
                except MediaTimeout:
                    log.error("media worker %d stopped answering; killing it", handle.index)
                    self._kill(handle.process)
                except MediaError:
                    pass

    async def close(self) -> None:
        """Stop in stages: ask each worker to finish its recordings and exit, then terminate,
        then kill whatever is left; each stage with a timeout."""
        if self._closing:
            return
        self._closing = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        timeout = self.config.shutdown_timeout
        alive = [h for h in self._workers if h.alive]
        await asyncio.gather(
            *(self._request(h, "shutdown", {}, limit=timeout) for h in alive),
            return_exceptions=True,
        )
        processes = [h.process for h in self._workers if h.process is not None]
        exits = [asyncio.ensure_future(p.wait()) for p in processes]
        for stage in (None, signal.SIGTERM, signal.SIGKILL):
            if all(p.returncode is not None for p in processes):
                break
            if stage is not None:
                for process in processes:
                    self._kill(process, stage)
            await asyncio.wait(exits, timeout=timeout)
        for pending in exits:
            pending.cancel()
        await asyncio.gather(*exits, return_exceptions=True)
        watchers = list(self._watchers.values())
        await asyncio.gather(*watchers, return_exceptions=True)
        for handle in self._workers:
            if handle.channel is not None:
                handle.channel.close()

    def load(self) -> list[WorkerLoad]:
        return [WorkerLoad(h.index, h.pid, h.alive, len(h.endpoints)) for h in self._workers]

    async def worker_stats(self) -> list[dict[str, Any]]:
        """Each live worker's own figures (endpoints, CPU seconds, free ports)."""
        result = []
        for handle in self._workers:
            if handle.alive:
                stats = await self._request(handle, "stats", {})
                result.append({"worker": handle.index, "pid": handle.pid, **stats})
        return result

    # ------------------------------------------------------------------------- messages

    def _on_message(self, handle: _WorkerHandle, message: Message) -> None:
        kind = message[0]
        if kind in ("r", "x"):
            future = handle.pending.pop(message[1], None)
            if future is None or future.done():
                return
            if kind == "r":
                future.set_result(message[2] if isinstance(message[2], dict) else {})
            else:
                future.set_exception(error_from_code(str(message[2]), str(message[3])))
        elif kind == "e":
            self._on_event(handle, message)

    def _on_event(self, handle: _WorkerHandle, message: Message) -> None:
        _, kind, endpoint_id, data = message
        if endpoint_id in self._internal:
            return
        event: MediaEvent
        if kind == "digit":
            event = DigitReceived(endpoint_id, data["digit"])
        elif kind == "play_done":
            event = PlayDone(endpoint_id, data["play_id"], data["reason"], data.get("digit"))
        elif kind == "collect_done":
            event = CollectDone(
                endpoint_id,
                data["collect_id"],
                data["digits"],
                data["reason"],
                data.get("terminator"),
            )
        elif kind == "rtp_timeout":
            event = RtpTimeout(endpoint_id, float(data["seconds"]))
        elif kind == "record_failed":
            event = RecordingFailed(endpoint_id, data["path"], data["error"])
        elif kind == "ended":
            event = EndpointEnded(endpoint_id, data["reason"])
        elif kind == "ready":
            if handle.ready is not None and not handle.ready.done():
                handle.ready.set_result(data)
            return
        else:
            log.warning("unknown media event %r", kind)
            return
        self._dispatch(event)

    def _dispatch(self, event: MediaEvent) -> None:
        for handler in list(self._subscribers):
            try:
                handler(event)
            except Exception:
                log.exception("media event handler failed on %s", type(event).__name__)

    def subscribe(self, handler: MediaEventHandler) -> Unsubscribe:
        self._subscribers.append(handler)

        def unsubscribe() -> None:
            if handler in self._subscribers:
                self._subscribers.remove(handler)

        return unsubscribe

    async def _request(
        self, handle: _WorkerHandle, op: str, args: dict[str, Any], *, limit: float | None = None
    ) -> dict[str, Any]:
        if not handle.alive or handle.channel is None:
            raise MediaWorkerLost(f"media worker {handle.index} is not running")
        request_id = next(self._requests)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        handle.pending[request_id] = future
        handle.channel.send([request_id, op, args])
        try:
            return await asyncio.wait_for(future, limit or self.config.command_timeout)
        except TimeoutError:
            raise MediaTimeout(f"media worker {handle.index} did not answer {op}") from None
        finally:
            handle.pending.pop(request_id, None)

    def _worker_of(self, endpoint_id: str) -> _WorkerHandle:
        handle = self._where.get(endpoint_id)
        if handle is None:
            raise EndpointNotFound(f"no endpoint {endpoint_id}", endpoint_id=endpoint_id)
        return handle

    async def _command(self, endpoint_id: str, op: str, **args: Any) -> dict[str, Any]:
        handle = self._worker_of(endpoint_id)
        return await self._request(handle, op, {"endpoint": endpoint_id, **args})

    def _forget(self, endpoint_id: str) -> None:
        self._where.pop(endpoint_id, None)
        self._internal.discard(endpoint_id)
        group = self._group_of.pop(endpoint_id, None)
        if group is not None and group in self._groups:
            members = self._groups[group][1]
            members.discard(endpoint_id)
            if not members:
                del self._groups[group]

    # -------------------------------------------------------------------- the protocol

    def _place(self, group: str | None) -> _WorkerHandle:
        if group is not None and group in self._groups:
            handle = self._groups[group][0]
            if handle.alive:
                return handle
        alive = [h for h in self._workers if h.alive]
        if not alive:
            raise MediaWorkerLost("no media worker is running")
        return min(alive, key=lambda h: len(h.endpoints))

    async def allocate(
        self,
        *,
        group: str | None = None,
        kind: LegKind = LegKind.RTP,
        rtp_timeout: float | None = None,
    ) -> EndpointInfo:
        if kind is not LegKind.RTP:
            raise MediaError("a WebRTC leg is made from the browser's offer: allocate_webrtc")
        info, _ = await self._allocate_on(self._place(group), group=group, rtp_timeout=rtp_timeout)
        return info

    async def allocate_webrtc(
        self,
        offer_sdp: str,
        *,
        group: str | None = None,
        rtp_timeout: float | None = None,
    ) -> tuple[EndpointInfo, str]:
        info, result = await self._allocate_on(
            self._place(group), group=group, rtp_timeout=rtp_timeout, offer=offer_sdp
        )
        return info, str(result["answer"])

    async def _allocate_on(
        self,
        handle: _WorkerHandle,
        *,
        group: str | None = None,
        rtp_timeout: float | None = None,
        internal: bool = False,
        offer: str | None = None,
    ) -> tuple[EndpointInfo, dict[str, Any]]:
        endpoint_id = new_id()
        handle.endpoints.add(endpoint_id)  # counted at once, so concurrent allocations spread
        self._where[endpoint_id] = handle
        if internal:
            self._internal.add(endpoint_id)
        if group is not None:
            self._groups.setdefault(group, (handle, set()))[1].add(endpoint_id)
            self._group_of[endpoint_id] = group
        args: dict[str, Any] = {"endpoint": endpoint_id}
        if rtp_timeout is not None:
            args["rtp_timeout"] = rtp_timeout
        if offer is not None:
            args["offer"] = offer
        try:
            result = await self._request(
                handle, "allocate" if offer is None else "allocate_webrtc", args
            )
        except BaseException:
            handle.endpoints.discard(endpoint_id)
            self._forget(endpoint_id)
            raise
        info = EndpointInfo(
            endpoint_id=endpoint_id,
            address=result["address"],
            port=result["port"],
            rtcp_port=result["rtcp_port"],
            kind=LegKind.RTP if offer is None else LegKind.WEBRTC,
            worker=handle.index,
            codec=None if offer is None else Codec(result["codec"]),
        )
        return info, result

    async def set_remote(
        self,
        endpoint_id: str,
        *,
        address: str,
        port: int,
        codec: Codec,
        payload_type: int | None = None,
        telephone_event_pt: int | None = None,
        ptime: int = 20,
        rtcp_port: int | None = None,
        rtp_timeout: float | None = None,
    ) -> None:
        await self._command(
            endpoint_id,
            "remote",
            address=address,
            port=port,
            codec=str(Codec(codec)),
            payload_type=Codec(codec).static_payload_type if payload_type is None else payload_type,
            telephone_event_pt=telephone_event_pt,
            ptime=ptime,
            rtcp_port=rtcp_port,
            rtp_timeout=rtp_timeout,
        )

    async def play(
        self,
        endpoint_id: str,
        prompts: Sequence[str | os.PathLike[str]],
        *,
        loop: bool = False,
        barge_in: bool = False,
    ) -> str:
        play_id = new_id()
        files = [os.fspath(p) for p in prompts]
        await self._command(
            endpoint_id, "play", play_id=play_id, files=files, loop=loop, barge_in=barge_in
        )
        return play_id

    async def stop(self, endpoint_id: str) -> bool:
        return bool((await self._command(endpoint_id, "stop"))["stopped"])

    async def collect_digits(
        self,
        endpoint_id: str,
        *,
        max_digits: int = 1,
        terminators: str = "",
        first_digit_timeout: float = 5.0,
        inter_digit_timeout: float = 3.0,
    ) -> str:
        collect_id = new_id()
        await self._command(
            endpoint_id,
            "collect",
            collect_id=collect_id,
            max_digits=max_digits,
            terminators=terminators,
            first_digit_timeout=first_digit_timeout,
            inter_digit_timeout=inter_digit_timeout,
        )
        return collect_id

    async def cancel_collect(self, endpoint_id: str) -> bool:
        return bool((await self._command(endpoint_id, "cancel_collect"))["stopped"])

    async def send_digits(self, endpoint_id: str, digits: str, *, duration_ms: int = 100) -> None:
        await self._command(endpoint_id, "digits", digits=digits, duration_ms=duration_ms)

    async def press_digits(self, endpoint_id: str, digits: str, *, duration_ms: int = 100) -> None:
        """Keys reach the bridged leg of another worker through the trunk as RFC 4733, like
        keys that came on the wire."""
        await self._command(endpoint_id, "press", digits=digits, duration_ms=duration_ms)

    async def bridge(self, endpoint_id: str, other_id: str) -> None:
        handle = self._worker_of(endpoint_id)
        other = self._worker_of(other_id)
        if endpoint_id == other_id:
            raise MediaError("an endpoint cannot be bridged to itself", endpoint_id=endpoint_id)
        await self._drop_trunk(endpoint_id)
        await self._drop_trunk(other_id)
        if other is handle:
            await self._command(endpoint_id, "bridge", other=other_id)
        else:
            await self._bridge_across(endpoint_id, handle, other_id, other)

    async def _bridge_across(
        self, endpoint_id: str, handle: _WorkerHandle, other_id: str, other: _WorkerHandle
    ) -> None:
        """Bridge legs of two workers through a trunk: a hidden endpoint on each worker, the two
        sending to each other over the media address. Each leg is bridged locally to its trunk
        end, so restamping and transcoding work as in any bridge; it costs two more relays per
        packet, which is why the legs of one contact are placed together when the call layer
        names their group."""
        near, _ = await self._allocate_on(handle, rtp_timeout=0.0, internal=True)
        try:
            far, _ = await self._allocate_on(other, rtp_timeout=0.0, internal=True)
        except BaseException:
            await self._release_quietly(near.endpoint_id)
            raise
        self._trunks[endpoint_id] = _Trunk(near.endpoint_id, far.endpoint_id, other_id)
        self._trunks[other_id] = _Trunk(far.endpoint_id, near.endpoint_id, endpoint_id)
        try:
            for here, there in ((near, far), (far, near)):
                await self.set_remote(
                    here.endpoint_id,
                    address=there.address,
                    port=there.port,
                    codec=Codec.PCMU,
                    telephone_event_pt=TRUNK_EVENT_PT,
                )
            await self._command(endpoint_id, "bridge", other=near.endpoint_id)
            await self._command(other_id, "bridge", other=far.endpoint_id)
        except BaseException:
            await self._drop_trunk(endpoint_id)
            raise

    async def _drop_trunk(self, endpoint_id: str) -> None:
        trunk = self._trunks.pop(endpoint_id, None)
        if trunk is None:
            return
        self._trunks.pop(trunk.other, None)
        for hidden in (trunk.near, trunk.far):
            await self._release_quietly(hidden)

    async def _release_quietly(self, endpoint_id: str) -> None:
        try:
            await self.release(endpoint_id)
        except MediaError as exc:
            log.warning("releasing trunk endpoint %s: %s", endpoint_id, exc)

    async def unbridge(self, endpoint_id: str) -> None:
        if endpoint_id in self._trunks:
            await self._drop_trunk(endpoint_id)  # releasing the trunk ends both local bridges
            return
        await self._command(endpoint_id, "unbridge")

    async def record_start(self, endpoint_id: str, path: str | os.PathLike[str]) -> None:
        await self._command(endpoint_id, "record_start", path=os.fspath(path))

    async def record_stop(self, endpoint_id: str) -> Recording:
        result = await self._command(endpoint_id, "record_stop")
        return Recording(path=result["path"], seconds=float(result["seconds"]))

    async def release(self, endpoint_id: str) -> LegQuality | None:
        await self._drop_trunk(endpoint_id)
        handle = self._where.get(endpoint_id)
        if handle is None:
            return None
        try:
            result = await self._request(handle, "release", {"endpoint": endpoint_id})
        except (MediaWorkerLost, EndpointNotFound):
            return None
        finally:
            handle.endpoints.discard(endpoint_id)
            self._forget(endpoint_id)
        return LegQuality.from_dict(result["quality"])

    async def quality(self, endpoint_id: str) -> LegQuality:
        return LegQuality.from_dict((await self._command(endpoint_id, "quality"))["quality"])

    def worker_pid(self, index: int) -> int | None:
        """The process id of a worker (for operators' tools and tests)."""
        return self._workers[index].pid


if TYPE_CHECKING:

    def _implements_the_protocol(engine: LocalMediaEngine) -> MediaEngine:
        return engine
