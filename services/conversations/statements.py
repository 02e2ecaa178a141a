"""Connections for the hot path's single statements, on asyncpg itself.

Every hot write is one statement in autocommit, so a connection needs no transaction,
reset or ping around it. Checking one out of SQLAlchemy's pool costs about 170 us of
CPU per statement here (greenlets, reset on return) and asyncpg's own pool about 75 us
(timeouts, reset queries); this pool hands an idle connection over without awaiting.
"""

import asyncio
import contextlib
from collections import deque
from typing import Any

import asyncpg

from services.conversations.notifications import asyncpg_dsn

# A broken connection: dropped rather than handed out again.
CONNECTION_LOST = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    OSError,
)


class StatementPool:
    def __init__(
        self,
        dsn: str,
        size: int,
        acquire_timeout_seconds: float = 5.0,
        connect_timeout_seconds: float = 5.0,
        command_timeout_seconds: float = 10.0,
    ) -> None:
        self.dsn = asyncpg_dsn(dsn)
        self.size = size
        self.acquire_timeout_seconds = acquire_timeout_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self.command_timeout_seconds = command_timeout_seconds
        self._idle: list[asyncpg.Connection] = []
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        # Connections open or being opened; at most `size`.
        self._open = 0
        self._closed = False

    async def fetch(self, sql: str, args: list[Any]) -> list[asyncpg.Record]:
        connection = await self._acquire()
        try:
            records: list[asyncpg.Record] = await connection.fetch(sql, *args)
        except asyncpg.PostgresError as exc:
            # The statement failed; the connection is fine unless the server is going away.
            if isinstance(exc, CONNECTION_LOST):
                self._discard(connection)
            else:
                self._release(connection)
            raise
        except BaseException:
            # Lost, timed out or cancelled mid-statement: its state is unknown.
            self._discard(connection)
            raise
        self._release(connection)
        return records

    async def _acquire(self) -> asyncpg.Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection
            self._open -= 1
        if self._closed:
            raise asyncpg.exceptions.InterfaceError("the statement pool is closed")
        if self._open < self.size:
            self._open += 1
            try:
                connection = await asyncpg.connect(
                    self.dsn,
                    timeout=self.connect_timeout_seconds,
                    command_timeout=self.command_timeout_seconds,
                    server_settings={"application_name": "pigeon-conversations"},
                )
            except BaseException:
                self._open -= 1
                self._wake_one(None)
                raise
            return connection
        waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            connection = await asyncio.wait_for(waiter, self.acquire_timeout_seconds)
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                # Handed over just as we gave up: pass the connection (or the slot) on.
                handed = waiter.result()
                if handed is not None:
                    self._release(handed)
                else:
                    self._wake_one(None)
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            raise
        # None: a slot freed up (a connection was dropped); open one in it.
        return connection if connection is not None else await self._acquire()

    def _release(self, connection: asyncpg.Connection) -> None:
        if self._closed:
            connection.terminate()
            self._open -= 1
        elif not self._wake_one(connection):
            self._idle.append(connection)

    def _discard(self, connection: asyncpg.Connection) -> None:
        connection.terminate()
        self._open -= 1
        self._wake_one(None)

    def _wake_one(self, connection: asyncpg.Connection | None) -> bool:
        """Hands `connection` (or a free slot) to the oldest waiter, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            self._open -= 1
            with contextlib.suppress(Exception):
                await connection.close(timeout=1)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
