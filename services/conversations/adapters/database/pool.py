"""Connections to PostgreSQL, on asyncpg itself.

Every hot statement runs alone in autocommit, so a connection needs no transaction,
reset or ping around it. Checking one out of SQLAlchemy's pool cost about 170 us of
CPU per statement here (greenlets, reset on return) and asyncpg's own pool about 75 us
(timeouts, reset queries); this pool hands an idle connection over without awaiting.
The few transactions (`transaction()`) take a connection for their whole length.
"""

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import asyncpg

from services.conversations.adapters.database.queries import Query

# The connection itself is gone (or going): dropped rather than handed out again.
CONNECTION_LOST = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.IdleSessionTimeoutError,
    OSError,
)

# A connection, or a free slot to open one in.
ConnectionOrSlot: TypeAlias = "asyncpg.Connection | None"


class StatementPool:
    def __init__(
        self,
        dsn: str,
        size: int,
        acquire_timeout_seconds: float = 5.0,
        connect_timeout_seconds: float = 5.0,
        command_timeout_seconds: float = 10.0,
        application_name: str = "pigeon-conversations",
        server_settings: dict[str, str] | None = None,
    ) -> None:
        self.dsn = dsn
        self.size = size
        self.acquire_timeout_seconds = acquire_timeout_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self.command_timeout_seconds = command_timeout_seconds
        self.application_name = application_name
        self.server_settings = {
            "application_name": application_name,
            # Under command_timeout: the server cancels first, and says so.
            "statement_timeout": f"{int(command_timeout_seconds * 900)}ms",
            # A transaction left open by a replica that froze (mid-claim, say) would hold its
            # locks: ended before the statements waiting for them reach their own timeout.
            "idle_in_transaction_session_timeout": "5s",
            **(server_settings or {}),
        }
        self._idle: list[asyncpg.Connection] = []
        self._waiters: deque[asyncio.Future[ConnectionOrSlot]] = deque()
        # Slots taken: connections open, being opened, or settling after a cancel. At most `size`.
        self._open = 0
        self._settling: set[asyncio.Task[None]] = set()
        self._closed = False

    async def fetch(self, sql: str, args: list[Any]) -> list[asyncpg.Record]:
        connection = await self._acquire()
        try:
            records: list[asyncpg.Record] = await connection.fetch(sql, *args)
        except (asyncio.CancelledError, TimeoutError):
            # asyncpg is cancelling the statement on the server; terminating now would
            # stop that and leave it running there. The connection is usable once done.
            self._settle(connection)
            raise
        except asyncpg.exceptions.DataError:
            # Arguments that did not encode: nothing reached the server.
            self._release(connection)
            raise
        except asyncpg.PostgresError as exc:
            # The statement failed; the connection is fine unless the server is going away.
            self._release_unless_lost(connection, exc)
            raise
        except BaseException:
            self._discard(connection)
            raise
        self._release(connection)
        return records

    async def run(self, query: Query, **params: Any) -> list[asyncpg.Record]:
        """A named statement, alone, in autocommit."""
        return await self.fetch(query.sql, query.arguments(params))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator["Transaction"]:
        """One transaction on one connection: committed when the block ends, rolled back
        when it raises. A connection whose transaction was cancelled midway (a statement
        in flight, or the rollback itself) is closed, not handed out again."""
        connection = await self._acquire()
        try:
            async with connection.transaction():
                yield Transaction(connection)
        except Exception as exc:
            # Rolled back by asyncpg on the way out, unless the connection itself is gone.
            self._release_unless_lost(connection, exc)
            raise
        except BaseException:
            self._discard(connection)
            raise
        self._release(connection)

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
            return await self._connect()
        waiter: asyncio.Future[ConnectionOrSlot] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.acquire_timeout_seconds):
                handed = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._hand_back(waiter.result())  # it came just as we gave up: pass it on
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            raise
        # None: a slot kept for us (a connection was dropped); open one in it.
        return handed if handed is not None else await self._connect()

    async def _connect(self) -> asyncpg.Connection:
        """Opens a connection in a slot already counted in `_open`."""
        try:
            connection: asyncpg.Connection = await asyncpg.connect(
                self.dsn,
                timeout=self.connect_timeout_seconds,
                command_timeout=self.command_timeout_seconds,
                server_settings=self.server_settings,
            )
        except BaseException:
            self._free_slot()
            raise
        return connection

    def _release(self, connection: asyncpg.Connection) -> None:
        if self._closed or connection.is_closed():
            self._discard(connection)
        elif not self._wake_one(connection):
            self._idle.append(connection)

    def _release_unless_lost(self, connection: asyncpg.Connection, exc: Exception) -> None:
        if isinstance(exc, CONNECTION_LOST) or connection.is_closed():
            self._discard(connection)
        else:
            self._release(connection)

    def _discard(self, connection: asyncpg.Connection) -> None:
        connection.terminate()
        self._free_slot()

    def _free_slot(self) -> None:
        """A slot is free: the oldest waiter opens a connection in it, or it is given up."""
        if self._closed or not self._wake_one(None):
            self._open -= 1

    def _hand_back(self, handed: ConnectionOrSlot) -> None:
        if handed is None:
            self._free_slot()
        else:
            self._release(handed)

    def _wake_one(self, handed: ConnectionOrSlot) -> bool:
        """Hands a connection (or a slot) to the oldest waiter still waiting, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(handed)
                return True
        return False

    def _settle(self, connection: asyncpg.Connection) -> None:
        """Keeps a connection whose statement was cancelled out of use, still counted,
        until the server has cancelled the statement; then it serves again."""

        async def settle() -> None:
            try:
                # asyncpg runs this only after the cancellation has completed.
                await connection.fetch("SELECT 1", timeout=self.command_timeout_seconds)
            except BaseException:
                self._discard(connection)
                raise
            self._release(connection)

        task = asyncio.get_running_loop().create_task(settle(), name="statement-pool-settle")
        self._settling.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._settling.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a failure was handled by dropping the connection

    async def close(self) -> None:
        """Refuses new statements; idle connections close now, busy ones when their
        statement ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.terminate()
            self._open -= 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(asyncpg.exceptions.InterfaceError("the statement pool is closed"))
        for task in list(self._settling):
            task.cancel()


class Transaction:
    """Named statements inside one transaction (see StatementPool.transaction)."""

    __slots__ = ("connection",)

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def run(self, query: Query, **params: Any) -> list[asyncpg.Record]:
        records: list[asyncpg.Record] = await self.connection.fetch(query.sql, *query.arguments(params))
        return records


def generic_plan_pool(dsn: str, size: int) -> StatementPool:
    """Connections for statements on arrays (the batches): PostgreSQL would otherwise plan
    such a statement afresh at every execution (about 0.5 ms)."""
    return StatementPool(dsn, size, server_settings={"plan_cache_mode": "force_generic_plan"})
