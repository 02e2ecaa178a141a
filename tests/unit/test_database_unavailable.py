"""Which database failures conversations answers as UNAVAILABLE (the caller may retry),
and which are bugs or bad requests."""

import asyncpg
import pytest

from services.conversations.adapters.database.errors import database_unavailable


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.InterfaceError("the statement pool is closed"),
    ],
    ids=type,
)
def test_unreachable_database_is_unavailable(error: BaseException) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint"),
        asyncpg.exceptions.UndefinedColumnError("column does not exist"),
        ValueError("not a database failure"),
    ],
    ids=type,
)
def test_other_failures_are_not(error: BaseException) -> None:
    assert not database_unavailable(error)
