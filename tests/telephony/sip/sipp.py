"""Running SIPp (Debian's sip-tester) as a real peer, on 127.0.0.1 only, with explicit ports,
bounded in time, and reading its statistics file for assertions."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SCENARIOS = Path(__file__).parent / "scenarios"
LOOPBACK = "127.0.0.1"


def free_port(count: int = 1) -> int:
    """A port P on 127.0.0.1 such that P..P+count-1 are free for UDP and TCP right now."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((LOOPBACK, 0))
            base = probe.getsockname()[1]
        if base + count >= 65535:
            continue
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    sockets.append(s)
                    s.bind((LOOPBACK, port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port block on 127.0.0.1")


@dataclass
class SippResult:
    returncode: int
    stdout: str
    stderr: str
    stats: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    errors: str = ""
    messages: str = ""  # SIPp's -trace_msg log, when asked for

    def received(self, start_line: str, cseq_method: str) -> int:
        """How many messages SIPp received with this start line and CSeq method (from the
        -trace_msg log: retransmissions included)."""
        count = 0
        for block in self.messages.split("message received")[1:]:
            lines = block.split("\n")
            if any(line.strip().startswith(start_line) for line in lines[:4]) and any(
                line.startswith("CSeq:") and line.split()[-1] == cseq_method for line in lines
            ):
                count += 1
        return count

    def count(self, name: str) -> int:
        """A cumulative counter from the statistics file, e.g. count("SuccessfulCall")."""
        return int(self.stats.get(f"{name}(C)", "0") or 0)

    def explain(self) -> str:
        return (
            f"sipp exit {self.returncode}\nstats: {self.stats}\nerrors: {self.errors[-3000:]}\n"
            f"stderr: {self.stderr[-2000:]}"
        )


async def run_sipp(
    workdir: Path,
    *,
    scenario: str,
    remote_port: int | None = None,
    calls: int = 1,
    rate: float = 10.0,
    transport: str = "u1",
    time_limit: float = 20.0,
    extra: list[str] | None = None,
    sipp_port: int | None = None,
    background: bool = False,
) -> SippResult:
    """Run SIPp with `scenario` (a file in scenarios/ or `builtin:uas`) and wait (bounded)."""
    process = await start_sipp(
        workdir,
        scenario=scenario,
        remote_port=remote_port,
        calls=calls,
        rate=rate,
        transport=transport,
        time_limit=time_limit,
        extra=extra,
        sipp_port=sipp_port,
    )
    return await finish_sipp(process, workdir, time_limit=time_limit + 5)


async def start_sipp(
    workdir: Path,
    *,
    scenario: str,
    remote_port: int | None = None,
    calls: int = 1,
    rate: float = 10.0,
    transport: str = "u1",
    time_limit: float = 20.0,
    extra: list[str] | None = None,
    sipp_port: int | None = None,
) -> asyncio.subprocess.Process:
    _prepare(workdir)
    port = sipp_port or free_port()
    media = free_port(4)
    args = [SIPP]
    if remote_port is not None:
        args.append(f"{LOOPBACK}:{remote_port}")
    if scenario.startswith("builtin:"):
        args += ["-sn", scenario.removeprefix("builtin:")]
    else:
        args += ["-sf", str(SCENARIOS / scenario)]
    args += [
        "-i", LOOPBACK, "-ci", LOOPBACK, "-bind_local", "-p", str(port), "-mp", str(media),
        "-t", transport, "-m", str(calls), "-r", str(rate),
        "-timeout", f"{int(time_limit)}s", "-timeout_error", "-nostdin",
        "-trace_stat", "-stf", "stats.csv", "-fd", "1", "-trace_err",
        *(extra or []),
    ]  # fmt: skip
    return await asyncio.create_subprocess_exec(
        *args,
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _prepare(workdir: Path) -> None:
    """SIPp runs in `workdir` (its logs land there), with `pcap` pointing at its recordings."""
    workdir.mkdir(parents=True, exist_ok=True)
    pcap = workdir / "pcap"
    if not pcap.exists():
        pcap.symlink_to("/usr/share/sip-tester")


async def wait_bound(
    port: int,
    transport: str = "u1",
    *,
    process: asyncio.subprocess.Process | None = None,
    time_limit: float = 3.0,
) -> None:
    """Wait (bounded) until SIPp holds `port`: our own bind attempt then fails."""
    kind = socket.SOCK_STREAM if transport.startswith("t") else socket.SOCK_DGRAM
    for _ in range(int(time_limit / 0.02)):
        if process is not None and process.returncode is not None:
            raise RuntimeError(f"SIPp exited with {process.returncode} before binding")
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"SIPp did not bind port {port}")


async def finish_sipp(
    process: asyncio.subprocess.Process, workdir: Path, *, time_limit: float
) -> SippResult:
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), time_limit)
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
    return _result(process, workdir, stdout, stderr)


def _result(
    process: asyncio.subprocess.Process, workdir: Path, stdout: bytes, stderr: bytes
) -> SippResult:
    stats: dict[str, str] = {}
    stats_file = workdir / "stats.csv"
    if stats_file.exists():
        rows = list(csv.reader(stats_file.read_text(errors="replace").splitlines(), delimiter=";"))
        if len(rows) >= 2:
            stats = dict(zip(rows[0], rows[-1], strict=False))
    errors = ""
    for path in workdir.glob("*_errors.log"):
        with contextlib.suppress(OSError):
            errors += path.read_text(errors="replace")
    messages = ""
    for path in workdir.glob("*_messages.log"):
        with contextlib.suppress(OSError):
            messages += path.read_text(errors="replace")
    return SippResult(
        returncode=process.returncode if process.returncode is not None else -1,
        stdout=stdout.decode(errors="replace"),
        stderr=stderr.decode(errors="replace"),
        stats=stats,
        workdir=workdir,
        errors=errors,
        messages=messages,
    )
