"""Telling a database that is away from a statement that failed (asyncpg's errors: the
services run on asyncpg alone)."""

import asyncpg

from services.conversations.adapters.database.errors import database_unavailable, statement_failed


def test_a_cancelled_statement_is_the_statements_failure() -> None:
    cancelled = asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout")
    assert database_unavailable(cancelled) and statement_failed(cancelled)


def test_a_server_going_away_is_not() -> None:
    shutting_down = asyncpg.exceptions.AdminShutdownError("terminating connection")
    assert database_unavailable(shutting_down) and not statement_failed(shutting_down)
    assert database_unavailable(ConnectionRefusedError()) and not statement_failed(ConnectionRefusedError())


def test_arguments_that_do_not_encode_are_the_statements_failure() -> None:
    assert statement_failed(asyncpg.exceptions.DataError("invalid input for query argument $1"))
