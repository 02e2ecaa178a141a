"""A closed-loop HTTP/1.1 load generator that costs little CPU.

The services share two cores with the load generator, so every microsecond it spends is taken
from them. aiohttp's client costs about as much per request as a small server handler; this
one writes requests built in advance as bytes on keep-alive connections and parses only the
status line, Content-Length and, when asked, one header. (A C generator such as wrk is not on
a fresh machine.) Each client is one connection that sends its next request when the answer
to the previous one is in.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# One request on the wire: method, path, headers and body already encoded.
RawRequest = bytes


def raw_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> RawRequest:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(slots=True)
class Answer:
    started: float  # perf_counter seconds
    ended: float
    status: int  # 0: the connection failed
    body: bytes
    # The request's index in the sequence it was taken from.
    index: int
    # The value of the header the load asked for (OpenLoop's `header`), else "".
    header: str = ""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: a request at a time, its answer parsed from the bytes in."""

    def __init__(self, header: bytes = b"") -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.lost: Exception | None = None
        self.header = header  # lower case; its value of the last answer is kept
        self.header_value = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._parse()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("closed by the server")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(self.lost)

    def _parse(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).split(b"\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif self.header and name == self.header:
                self.header_value = value.strip().decode()
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        status = int(head[0].split(b" ", 2)[1])
        if not self.waiter.done():
            self.waiter.set_result((status, body))

    async def ask(self, request: RawRequest) -> tuple[int, bytes]:
        if self.lost is not None or self.transport is None:
            raise ConnectionResetError("connection lost")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def connect(host: str, port: int, local_address: str | None = None, header: bytes = b"") -> _Connection:
    loop = asyncio.get_running_loop()
    local = (local_address, 0) if local_address else None
    _, connection = await loop.create_connection(lambda: _Connection(header), host, port, local_addr=local)
    return connection


@dataclass
class ClosedLoop:
    """`clients` connections taking turns at `requests`: each takes the next index when free.

    Answers that started inside the measured window [t0, t1) are kept; `ok_in_window` counts
    the 2xx that ended inside it, whenever they started (throughput)."""

    host: str
    port: int
    requests: Sequence[RawRequest]
    clients: int
    # Cycle through `requests` again when they run out (sends); False stops the clients.
    cycle: bool = False
    # The source address of the connections (e.g. "127.0.0.2": another client host on loopback).
    local_address: str | None = None
    keep_body: Callable[[int], bool] = lambda status: status >= 300
    next_index: int = 0
    stopping: bool = False
    t0: float = float("inf")
    t1: float = float("inf")
    completed: int = 0
    ok_in_window: int = 0
    answers: list[Answer] = field(default_factory=list)
    # Every answer's status (0: the connection failed), in the window or not.
    statuses: Counter[int] = field(default_factory=Counter)
    # Set once the requests have run out (never when cycling).
    ran_out: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list["asyncio.Task[None]"] = field(default_factory=list)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._client()) for _ in range(self.clients)]

    def measure(self) -> None:
        self.t0 = time.perf_counter()

    def end_measure(self) -> float:
        self.t1 = time.perf_counter()
        return self.t1 - self.t0

    @property
    def exhausted(self) -> bool:
        return not self.cycle and self.next_index >= len(self.requests)

    async def stop(self, grace_seconds: float = 30.0) -> None:
        self.stopping = True
        _, pending = await asyncio.wait(self._tasks, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connect(self) -> _Connection:
        return await connect(self.host, self.port, self.local_address)

    async def _client(self) -> None:
        clock = time.perf_counter
        connection = await self._connect()
        try:
            while not self.stopping:
                if self.next_index >= len(self.requests) and not self.cycle:
                    self.ran_out.set()
                    return
                index = self.next_index
                self.next_index += 1
                request = self.requests[index % len(self.requests)]
                if connection.lost is not None:  # closed by the server while idle
                    connection = await self._connect()
                started = clock()
                try:
                    status, body = await connection.ask(request)
                except OSError as exc:
                    status, body = 0, repr(exc).encode()
                    connection = await self._connect()
                ended = clock()
                self.completed += 1
                self.statuses[status] += 1
                if self.t0 <= started < self.t1:
                    self.answers.append(
                        Answer(started, ended, status, body if self.keep_body(status) else b"", index)
                    )
                if 200 <= status < 300 and self.t0 <= ended <= self.t1:
                    self.ok_in_window += 1
        finally:
            if connection.transport is not None:
                connection.transport.close()


@dataclass
class OpenLoop:
    """Requests started at a fixed rate, whatever the answers take (as real traffic arrives).

    `schedule` yields (seconds after the start, request, tag); each request goes on an idle
    keep-alive connection, or a new one. Every answer is kept with its tag."""

    host: str
    port: int
    # A header of the answers to keep (e.g. "server-timing").
    header: str = ""
    answers: list[tuple[str, Answer]] = field(default_factory=list)
    _idle: list[_Connection] = field(default_factory=list)
    _tasks: set["asyncio.Task[None]"] = field(default_factory=set)

    async def run(self, schedule: Sequence[tuple[float, RawRequest, str]]) -> None:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        for index, (offset, request, tag) in enumerate(schedule):
            wait = begin + offset - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            task = asyncio.create_task(self._one(index, request, tag))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.gather(*self._tasks)

    async def _one(self, index: int, request: RawRequest, tag: str) -> None:
        connection = self._idle.pop() if self._idle else None
        if connection is None or connection.lost is not None:
            connection = await connect(self.host, self.port, header=self.header.lower().encode())
        started = time.perf_counter()
        connection.header_value = ""
        try:
            status, body = await connection.ask(request)
        except OSError as exc:
            status, body = 0, repr(exc).encode()
        answer = Answer(started, time.perf_counter(), status, body, index, connection.header_value)
        self.answers.append((tag, answer))
        if connection.lost is None:
            self._idle.append(connection)

    def close(self) -> None:
        for connection in self._idle:
            if connection.transport is not None:
                connection.transport.close()
        self._idle.clear()
