"""Telling a database that is away (retry later) from a statement that failed."""

import asyncio

import asyncpg
import sqlalchemy.exc

_DATABASE_UNAVAILABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    # A connection left mid-protocol by a server that went away.
    asyncpg.exceptions.InternalClientError,
    OSError,
    asyncio.TimeoutError,
)
# What a server shutting down, restarting or out of connections raises (SQLSTATE classes 08
# and 57, and 53300): "terminating connection due to administrator command", "the database
# system is shutting down / starting up". SQLAlchemy wraps them as a plain DBAPIError.
_POSTGRES_UNAVAILABLE = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def database_unavailable(exc: BaseException) -> bool:
    """True for a failure to reach PostgreSQL, which the caller may retry later."""
    if isinstance(exc, _DATABASE_UNAVAILABLE):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        cause: BaseException | None = exc.orig
        while cause is not None:
            if isinstance(cause, _POSTGRES_UNAVAILABLE):
                return True
            cause = cause.__cause__
    return False


# Failures of one statement, not of the database: the same statement fails again.
_STATEMENT_FAILED = (asyncpg.exceptions.QueryCanceledError, asyncpg.exceptions.DataError)


def statement_failed(exc: BaseException) -> bool:
    """True for a statement the server cancelled (statement_timeout, which the engine and the
    statement pools set under their client-side timeout) or refused for its arguments: the
    statement's failure, though database_unavailable counts a cancellation among its classes."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _STATEMENT_FAILED):
            return True
        cause = cause.orig if isinstance(cause, sqlalchemy.exc.DBAPIError) else cause.__cause__
    return False
