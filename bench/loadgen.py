"""A small closed-loop load generator: N concurrent keep-alive connections, each
sending its next request as soon as the previous answer arrived.

Raw HTTP/1.1 over asyncio streams instead of an HTTP client library, because
the generator shares the machine's two cores with the system under test and a
full client would measure itself.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def row(self) -> str:
        return (
            f"{self.name:<34} {self.rps:>9.0f} {self.percentile(50):>8.1f} {self.percentile(95):>8.1f} "
            f"{self.percentile(99):>8.1f} {self.errors:>7}"
        )


HEADER = f"{'scenario (50 clients)':<34} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"


class HttpConnection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: dict[str, object] | None = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        data = await self.reader.readexactly(length) if length else b""
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


Call = Callable[[int], Awaitable[bool]]


async def run_closed_loop(name: str, clients: int, seconds: float, make_call: Callable[[int], Call]) -> Result:
    """`make_call(i)` gives client i its call; a call returns True on success."""
    result = Result(name)
    stop_at = time.perf_counter() + seconds

    async def client(index: int) -> None:
        call = make_call(index)
        sequence = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                ok = await call(sequence)
            except Exception:
                ok = False
            sequence += 1
            if ok:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    result.elapsed = time.perf_counter() - began
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
