"""PostgreSQL LISTEN on one dedicated connection per replica, reconnecting by itself.

NOTIFY wakes the outbox worker when work is queued and the event watchers when
events are committed. A notification can be lost while the connection is down, so
every subscriber is also woken when it comes back, and reads what it missed.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)

Callback = Callable[[str], None]


class Listener:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._callbacks: dict[str, list[Callback]] = {}
        self._on_reconnect: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def subscribe(self, channel: str, callback: Callback) -> None:
        """Registers before start(); callback(payload) runs on the event loop."""
        self._callbacks.setdefault(channel, []).append(callback)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        self._on_reconnect.append(callback)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pg-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _dispatch(self, connection: object, pid: int, channel: str, payload: str) -> None:
        for callback in self._callbacks.get(channel, ()):
            callback(payload)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                connection = await asyncpg.connect(self.dsn, timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("listener cannot connect", extra={"error": type(exc).__name__, "retry_in": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _, lost=lost: lost.set())
            try:
                for channel in self._callbacks:
                    await connection.add_listener(channel, self._dispatch)
                delay = 0.1
                self.connected.set()
                for callback in self._on_reconnect:
                    callback()
                await lost.wait()
                log.warning("listener connection lost; reconnecting")
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("listener failed", extra={"error": type(exc).__name__})
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await connection.close(timeout=1)
