"""Settings of the media workers, handed over by the composition root.

The media address is where RTP sockets are bound and what the call layer puts in SDP `c=` lines;
it is a setting, never guessed from the machine's interfaces (a node behind NAT, a test on
loopback and a multi-homed server all need it said). The port range is split between the workers
so that they never race for a port."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MediaConfig:
    """What the media workers need to know; defaults suit one machine."""

    address: str = "127.0.0.1"
    port_min: int = 20000
    port_max: int = 29999
    workers: int | None = None  # None: one per core
    rtp_timeout: float = 30.0  # seconds without RTP before rtp_timeout is reported; 0 = never
    rtcp_interval: float = 5.0  # mean seconds between RTCP reports (RFC 3550 randomises +-50%)
    command_timeout: float = 5.0  # seconds a worker has to answer a command
    heartbeat_interval: float = 2.0  # a worker that misses two heartbeats is killed and restarted
    shutdown_timeout: float = 3.0  # seconds a worker has to finish recordings and exit
    restart_backoff_max: float = 30.0  # longest wait between restarts of a worker that keeps dying
    webrtc_connect_timeout: float = 15.0  # seconds a browser has to connect (ICE + DTLS)
    cname: str = field(default="hotline")

    def __post_init__(self) -> None:
        ipaddress.ip_address(self.address)  # raises ValueError for a name or a typo
        if not (1024 <= self.port_min < self.port_max <= 65535):
            raise ValueError("the RTP port range must lie within 1024-65535, min below max")
        if self.workers is not None and self.workers < 1:
            raise ValueError("at least one media worker")

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    def port_slice(self, index: int) -> tuple[int, int]:
        """The ports (first, last) owned by worker `index`: an equal share, starting even."""
        count = self.worker_count
        first_even = self.port_min + (self.port_min % 2)
        pairs = (self.port_max - first_even + 1) // 2
        share = pairs // count
        if share < 1:
            raise ValueError("the RTP port range is too small for the number of workers")
        start = first_even + 2 * share * index
        return start, start + 2 * share - 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
